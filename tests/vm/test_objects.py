"""Whole objects on the VM: ``VmObject.load`` of the C corpus, and what loading decides.

Every object of ``tests/testdata/bpf/MANIFEST.json`` that is not broken loads
(tracing ones too; they need not run) with the programs and maps the manifest
lists; every program of a ``packet`` object runs over a generated capture
without a VM error. Then what a load does, checked on the objects built for
it: global data and ``.kconfig`` values (``globals``), frozen read-only data,
prog arrays filled from the object (``tail_calls``, iproute2's ``ID/KEY``
sections), maps of maps with their inner maps (``btf_maps``), CO-RE
(``core_reads``), map sizes libbpf fills in, program selection and types,
the empty stand-ins for kernel-only map types, and the ``ebpy.load`` API.
The kernel as oracle is in ``tests/kernel/test_objects_differential.py``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import struct
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ebpy
from ebpy.backend import load
from ebpy.btf.types import Btf
from ebpy.elf.loader import load_file
from ebpy.errors import (
    BpfError,
    BtfError,
    ElfError,
    InputError,
    MapError,
    NotSupportedError,
    VmError,
)
from ebpy.errors import TestRunError as RunError
from ebpy.isa.opcodes import PseudoSrc
from ebpy.maps.map_in_map import ArrayOfMaps, HashOfMaps
from ebpy.maps.prog_array import ProgArrayMap
from ebpy.pcap import read_packets
from ebpy.pcap.synth import write_synth_pcap
from ebpy.spec import KconfigExtern, MapFlavor, MapSpec
from ebpy.uapi import MapType, ProgType, XdpAction
from ebpy.vm.kconfig import (
    encode_value,
    kconfig_bytes,
    kernel_version_code,
    parse_config,
    read_kernel_config,
)
from ebpy.vm.object_models import KernelOnlyMap, kernel_only_map
from ebpy.vm.objects import VmObject
from ebpy.vm.prepare import prepare, ringbuf_size
from tests.testdata_checks.corpus import BPF_DIR, enum_value, objects

GOOD = sorted(name for name, obj in objects().items() if not obj.get("broken"))
PACKET_PROGRAMS = [
    (name, prog["name"])
    for name, obj in sorted(objects().items())
    if obj.get("packet") and not obj.get("broken")
    for prog in obj["programs"]
]
PACKETS = 240
VMLINUX = "/sys/kernel/btf/vmlinux"


def spec_of(name: str) -> Any:
    return load_file(BPF_DIR / f"{name}.o")


def kernel_name(name: str) -> str:
    return name[:15]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """A generated capture, read back: varied frames for every packet program."""
    path = tmp_path_factory.mktemp("pcap") / "synth.pcap"
    write_synth_pcap(path, PACKETS, seed=11)
    return [p.data for p in read_packets(path)]


# -- the corpus ----------------------------------------------------------------------
@pytest.mark.parametrize("name", GOOD)
def test_every_good_object_loads(name: str) -> None:
    entry = objects()[name]
    spec = spec_of(name)
    if any(p.core_relos for p in spec.programs.values()) and not os.path.exists(VMLINUX):
        pytest.skip(f"CO-RE needs the kernel's BTF, and {VMLINUX} is not here")
    obj = VmObject.load(spec)
    assert sorted(obj.programs) == sorted(p["name"] for p in entry["programs"])
    assert not obj.skipped
    assert sorted(kernel_name(m) for m in obj.maps) == sorted(
        m["kernel_name"] for m in entry["maps"]
    )
    by_name = {m["kernel_name"]: m for m in entry["maps"]}
    for map_name, m in obj.maps.items():
        want = by_name[kernel_name(map_name)]
        assert m.spec.type_value == enum_value("map_type", want["type"]), map_name
        assert (m.key_size, m.value_size) == (want["key_size"], want["value_size"]), map_name
    for prog in entry["programs"]:
        loaded = obj.programs[prog["name"]]
        assert loaded.prog_type == enum_value("prog_type", prog["type"])
        assert loaded.spec.section == prog["section"]


@pytest.mark.parametrize(("name", "program"), PACKET_PROGRAMS)
def test_packet_programs_run_over_a_capture(name: str, program: str, capture: list[bytes]) -> None:
    obj = VmObject.load(spec_of(name))
    prog = obj.programs[program]
    assert prog.info is not None and prog.info.has_packet
    verdicts = set()
    for frame in capture:
        res = prog.test_run(frame)
        verdicts.add(res.retval)
        if prog.info.prog_type == ProgType.XDP and res.retval == XdpAction.PASS:
            assert res.data_out == frame or program == "globals_report"
    assert verdicts


def test_broken_objects_still_load_on_the_vm() -> None:
    """The VM does not verify: a broken object loads, and runs until it goes wrong."""
    obj = VmObject.load(spec_of("broken_null_deref"))
    with pytest.raises(VmError):
        obj.programs["broken_null_deref"].test_run(bytes(64))


# -- global data and .kconfig ----------------------------------------------------------
def test_global_data_is_initialised_and_read_only_data_frozen() -> None:
    obj = VmObject.load(spec_of("globals"), kconfig={"CONFIG_HZ": 100})
    zero = bytes(4)
    assert obj.maps["globals.data"][zero] == struct.pack("<I", 5)
    assert obj.maps[".data.custom"][zero] == struct.pack("<I", 0x11223344)
    assert obj.maps[".rodata.str1.1"][zero] == b"ebpy-globals\0"
    for frozen in ("globals.rodata", ".rodata.custom", "globals.kconfig"):
        with pytest.raises(MapError) as err:
            obj.maps[frozen][zero] = bytes(obj.maps[frozen].value_size)
        assert err.value.errno == errno.EPERM
    obj.maps["globals.data"][zero] = struct.pack("<I", 7)  # .data stays writable


def test_globals_report_shows_what_the_loader_filled_in() -> None:
    obj = VmObject.load(spec_of("globals"), kconfig={"CONFIG_HZ": 300, "CONFIG_BPF_JIT": True})
    count, report = obj.programs["globals_count"], obj.programs["globals_report"]
    assert count.test_run(bytes(100)).retval == XdpAction.PASS  # longer than threshold 60
    assert count.test_run(bytes(40)).retval == XdpAction.DROP
    res = report.test_run(bytes(64))
    assert res.retval == XdpAction.TX
    version, hz, counter, custom, custom_ro, threshold = struct.unpack_from("<6I", res.data_out)
    jit, missing, pick, tag, last_len = struct.unpack_from("<BBBcI", res.data_out, 24)
    assert version == kernel_version_code()
    assert (hz, jit, missing) == (300, 1, 0)
    assert counter == 5 + 2
    assert custom == 0x11223344 ^ 100 ^ 40
    assert (custom_ro, threshold) == (0x55667788, 60)
    assert (pick, tag, last_len) == ((3, 1, 4, 1, 5, 9, 2, 6)[0], b"e", 40)


def test_kconfig_comes_from_the_running_kernel() -> None:
    config = read_kernel_config()
    if config is None or "CONFIG_HZ" not in config:
        pytest.skip("no readable kernel config with CONFIG_HZ here")
    obj = VmObject.load(spec_of("globals"))
    data = obj.maps["globals.kconfig"][bytes(4)]
    layout = {k.name: k for k in obj.spec.kconfig}
    hz = layout["CONFIG_HZ"]
    assert int.from_bytes(data[hz.offset : hz.offset + 4], "little") == int(config["CONFIG_HZ"])
    jit = layout["CONFIG_BPF_JIT"]
    assert data[jit.offset] == (config.get("CONFIG_BPF_JIT") == "y")


def test_a_strong_kconfig_extern_without_a_value_is_an_error() -> None:
    ext = (KconfigExtern("CONFIG_NOT_HERE", 0, 4, "int"),)
    with pytest.raises(NotSupportedError):
        kconfig_bytes(ext, 4, config={})
    assert kconfig_bytes(ext, 4, config={}, overrides={"CONFIG_NOT_HERE": 9}) == b"\t\0\0\0"
    weak = (KconfigExtern("CONFIG_NOT_HERE", 0, 4, "int", weak=True),)
    assert kconfig_bytes(weak, 4, config={}) == bytes(4)
    with pytest.raises(InputError):
        kconfig_bytes((KconfigExtern("LINUX_NO_SUCH", 0, 4, "int"),), 4, config={})


@pytest.mark.parametrize(
    ("kind", "size", "signed", "text", "expect"),
    [
        ("bool", 1, False, "y", b"\x01"),
        ("bool", 1, False, "n", b"\x00"),
        ("tristate", 4, False, "m", b"\x02\0\0\0"),
        ("char", 1, False, "m", b"m"),
        ("int", 4, False, "0x10", b"\x10\0\0\0"),
        ("int", 2, True, "-2", b"\xfe\xff"),
        ("char_array", 6, False, '"hello world"', b"hello\0"),
        ("char_array", 8, False, '"ab"', b"ab" + bytes(6)),
    ],
)
def test_kconfig_values(kind: str, size: int, signed: bool, text: str, expect: bytes) -> None:
    assert encode_value(KconfigExtern("CONFIG_X", 0, size, kind, signed), text) == expect


@pytest.mark.parametrize(
    ("kind", "size", "text"),
    [("bool", 1, "m"), ("int", 1, "256"), ("int", 4, "y"), ("int", 4, '"s"'), ("bool", 1, "2")],
)
def test_kconfig_values_that_do_not_fit(kind: str, size: int, text: str) -> None:
    with pytest.raises(InputError):
        encode_value(KconfigExtern("CONFIG_X", 0, size, kind), text)


@given(st.text(max_size=40), st.sampled_from(["bool", "tristate", "char", "int", "char_array"]))
def test_kconfig_values_never_fail_otherwise(text: str, kind: str) -> None:
    size = {"bool": 1, "tristate": 4, "char": 1, "int": 4, "char_array": 8}[kind]
    try:
        out = encode_value(KconfigExtern("CONFIG_X", 0, size, kind), text)
    except InputError:
        return
    assert len(out) == size


@given(st.text(max_size=200))
def test_config_parser_takes_any_text(text: str) -> None:
    assert all(k.startswith("CONFIG_") for k in parse_config(text))


# -- prog arrays, maps of maps, kernel-only maps -----------------------------------------
def test_prog_array_is_filled_from_the_object() -> None:
    obj = VmObject.load(spec_of("tail_calls"))
    table = obj.maps["jump_table"]
    assert isinstance(table, ProgArrayMap)
    assert table.get_program(0) is obj.programs["tail_stage1"].vm
    assert table.get_program(1) is None
    assert table.get_program(2) is obj.programs["tail_stage2"].vm
    assert obj.programs["tail_entry"].test_run(bytes(64)).retval == XdpAction.PASS
    hits = obj.maps["stage_hits"]
    assert [hits[struct.pack("<I", i)] for i in range(3)] == [struct.pack("<Q", 1)] * 3


def test_programs_left_out_leave_their_slots_empty() -> None:
    obj = VmObject.load(spec_of("tail_calls"), programs=["tail_entry", "tail_stage1"])
    assert obj.skipped == {"tail_stage2": "not asked for"}
    assert obj.programs["tail_entry"].test_run(bytes(64)).retval == XdpAction.DROP


def test_iproute2_tail_section_takes_the_type_of_its_caller() -> None:
    obj = VmObject.load(spec_of("iproute2_maps"))
    assert obj.programs["cls_tail"].prog_type == ProgType.SCHED_CLS
    main = obj.programs["cls_main"]
    assert main.info is not None
    res = main.test_run(bytes(64), bytes(main.info.ctx_size))
    assert res.retval == 0
    assert res.ctx_out is not None and struct.unpack_from("<I", res.ctx_out, 8)[0] == 0x2020
    inner = obj.maps["ebpy_tc_inner"]
    outer = obj.maps["ebpy_tc_outer"]
    assert isinstance(outer, ArrayOfMaps) and outer.get_map(0) is inner
    assert inner[bytes(4)] == struct.pack("<Q", 1)


def test_maps_of_maps_hold_their_inner_maps() -> None:
    obj = VmObject.load(spec_of("btf_maps"))
    aom, hom = obj.maps["m_array_of_maps"], obj.maps["m_hash_of_maps"]
    assert isinstance(aom, ArrayOfMaps) and isinstance(hom, HashOfMaps)
    assert aom.get_map(1) is obj.maps["inner_one"]
    assert hom.get_map(struct.pack("<I", 3)) is obj.maps["inner_two"]
    assert obj.programs["maps_xdp"].test_run(bytes(64)).retval == XdpAction.PASS
    assert obj.maps["inner_one"][struct.pack("<I", 0)] == struct.pack("<Q", 1)


def test_kernel_only_map_types_are_empty_stand_ins() -> None:
    obj = VmObject.load(spec_of("btf_maps"))
    for name in ("m_devmap", "m_cpumap", "m_xskmap", "m_sockmap", "m_sk_storage", "m_cgrp_storage"):
        m = obj.maps[name]
        assert isinstance(m, KernelOnlyMap), name
        assert len(m) == 0 and list(m) == []
    with pytest.raises(MapError) as err:
        obj.maps["m_devmap"][bytes(4)] = struct.pack("<I", 1)
    assert err.value.errno == errno.EOPNOTSUPP
    assert obj.maps["m_devmap"].map_type == MapType.DEVMAP
    assert obj.maps["m_cgrp_storage"].spec.raw_type == 32
    m = kernel_only_map(MapSpec(MapType.SOCKHASH, 4, 8, 4))
    with pytest.raises(KeyError):
        m[bytes(4)]


# -- map sizes, program selection and types ----------------------------------------------
def test_map_sizes_libbpf_fills_in() -> None:
    obj = VmObject.load(spec_of("file_open"), ncpus=3)
    assert obj.maps["open_events"].max_entries == 3
    assert ringbuf_size(4096 * 3, 4096) == 4096 * 4
    assert ringbuf_size(4096 * 8, 4096) == 4096 * 8
    assert ringbuf_size(1, 4096) == 4096


def test_program_selection_and_types() -> None:
    spec = spec_of("multi_prog")
    with pytest.raises(ElfError):
        VmObject.load(spec, programs=["no_such_program"])
    obj = VmObject.load(
        spec, programs=["multi_tc_ok"], prog_types={"multi_tc_ok": ProgType.SCHED_ACT}
    )
    assert list(obj.programs) == ["multi_tc_ok"]
    assert obj.programs["multi_tc_ok"].info is not None
    assert obj.programs["multi_tc_ok"].info.prog_type == ProgType.SCHED_ACT
    alone = VmObject.load(spec_of("iproute2_maps"), programs=["cls_tail"])
    assert alone.programs["cls_tail"].prog_type == ProgType.SCHED_CLS  # from its prog array


def test_map_references_become_index_forms() -> None:
    obj = VmObject.load(spec_of("globals"))
    srcs = {
        insn.src
        for insn in obj.programs["globals_report"].instructions
        if insn.is_lddw and insn.src != PseudoSrc.IMM
    }
    assert srcs == {PseudoSrc.MAP_IDX_VALUE}


def test_devmap_programs_read_egress_ifindex_but_cannot_test_run() -> None:
    obj = VmObject.load(spec_of("sections"), programs=["sec_xdp_devmap"])
    with pytest.raises(RunError) as err:
        obj.programs["sec_xdp_devmap"].test_run(bytes(64))
    assert err.value.errno == errno.EINVAL


def test_types_the_vm_does_not_model_load_but_do_not_run() -> None:
    obj = VmObject.load(spec_of("sections"), programs=["sec_sk_msg"])
    with pytest.raises(NotSupportedError):
        obj.programs["sec_sk_msg"].test_run(bytes(64))


# -- CO-RE ---------------------------------------------------------------------------
def test_core_relocations_are_applied_against_vmlinux() -> None:
    if not os.path.exists(VMLINUX):
        pytest.skip(f"no {VMLINUX} here")
    spec = spec_of("core_reads")
    obj = VmObject.load(spec)
    for name, prog in obj.programs.items():
        assert len(prog.prepared.core) == len(spec.programs[name].core_relos) > 0
        before = spec.programs[name].instructions
        assert len(before) == len(prog.prepared.insns)
        assert any(a != b for a, b in zip(before, prog.prepared.insns, strict=True)), name


def test_core_without_kernel_btf_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import ebpy.btf.parse

    def missing(path: str = "") -> Btf:
        raise BtfError("No such file or directory", section="/sys/kernel/btf/vmlinux")

    monkeypatch.setattr(ebpy.btf.parse, "load_vmlinux", missing)
    with pytest.raises(NotSupportedError) as err:
        VmObject.load(spec_of("core_reads"))
    assert err.value.feature == "CO-RE relocation"
    VmObject.load(spec_of("xdp_drop_src"))  # no CO-RE: no BTF needed


def test_prepare_gives_the_same_for_every_backend() -> None:
    spec = spec_of("globals")
    a = prepare(spec, kconfig={"CONFIG_HZ": 1})
    b = prepare(spec, kconfig={"CONFIG_HZ": 1})
    assert a.data == b.data and a.maps == b.maps
    assert {m.name for m in a.maps if m.flavor in (MapFlavor.DATA, MapFlavor.KCONFIG)} == set(
        a.data
    )


# -- the API ---------------------------------------------------------------------------
def test_ebpy_load_gives_a_vm_object(tmp_path: Path) -> None:
    path = BPF_DIR / "proto_count.o"
    for source in (path, str(path), path.read_bytes(), spec_of("proto_count")):
        with ebpy.load(source) as obj:
            assert isinstance(obj, VmObject)
            assert obj.programs["xdp_proto_count"].test_run(data=bytes(64)).retval == 2
    with pytest.raises(InputError):
        load(path, backend="jit")
    with pytest.raises(InputError):
        load(path, backend="vm", no_such_option=1)
    with pytest.raises(ElfError):
        load(tmp_path / "missing.o")


# -- damaged objects ------------------------------------------------------------------------
FUZZED = ("globals", "tail_calls", "btf_maps", "core_reads", "iproute2_maps")


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(FUZZED),
    st.lists(st.tuples(st.integers(0, 1 << 20), st.integers(0, 255)), min_size=1, max_size=8),
)
def test_damaged_objects_fail_only_with_bpf_errors(name: str, edits: list[tuple[int, int]]) -> None:
    """Bytes flipped anywhere in an object: loading it on the VM either works or
    raises a ``BpfError`` (never another exception)."""
    data = bytearray((BPF_DIR / f"{name}.o").read_bytes())
    for pos, value in edits:
        data[pos % len(data)] = value
    with contextlib.suppress(BpfError):
        load(bytes(data), kconfig={"CONFIG_HZ": 100}).close()
