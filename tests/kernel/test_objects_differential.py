"""The kernel as oracle for whole objects: ``KernelObject`` against ``VmObject``.

For every program of every ``packet`` object of the C corpus (the manifest
says which), the object is loaded twice, on the VM and in the kernel, and the
program runs over the same ~240 varied frames (a generated capture, large
frames, frames cut short): packet for packet the retval and ``data_out`` (or
the errno of a refused run) must be the same, and so must every map's
contents afterwards, read through the ``MutableMapping`` faces (for LRU maps
that filled up: the entries both still hold; which ones the kernel evicts
depends on its per-CPU free lists). The test
pins itself to one CPU so that per-CPU values land on the same CPU in both.
Packet programs of other objects are compared the same way where the VM has
their helpers.

Then loading as such: every good object of the manifest loads with
``KernelObject`` (its maps as the manifest says, seen through
``BPF_OBJ_GET_INFO_BY_FD``) unless this machine lacks what it needs (skipped
with the manifest's reason); every broken one is refused with ``KernelError``
and a verifier log that says why. ``kernel``-marked: skipped without bpf(2).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ebpy.elf.loader import load_file
from ebpy.errors import BpfError, KernelError, MapError, NotSupportedError, UnknownHelperError
from ebpy.kernel import possible_cpus
from ebpy.kernel.objects import NO_BTF_MAP_TYPES, KernelObject
from ebpy.pcap import read_packets
from ebpy.pcap.synth import Synth, write_synth_pcap
from ebpy.uapi import MapType, XdpAction
from ebpy.vm.kconfig import read_kernel_config
from ebpy.vm.object_models import KernelOnlyMap
from ebpy.vm.objects import VmObject
from tests.testdata_checks.corpus import BPF_DIR, enum_value, objects

pytestmark = pytest.mark.kernel

GOOD = sorted(name for name, obj in objects().items() if not obj.get("broken"))
BROKEN = sorted(name for name, obj in objects().items() if obj.get("broken"))
PACKET_PROGRAMS = [
    (name, prog["name"])
    for name, obj in sorted(objects().items())
    if obj.get("packet") and not obj.get("broken")
    for prog in obj["programs"]
]
OTHER_PACKET_PROGRAMS = [
    (name, prog["name"])
    for name, obj in sorted(objects().items())
    if not obj.get("packet") and not obj.get("broken")
    for prog in obj["programs"]
    if prog.get("packet")
]
ID_VALUES = frozenset(
    {MapType.PROG_ARRAY, MapType.ARRAY_OF_MAPS, MapType.HASH_OF_MAPS, MapType.PERF_EVENT_ARRAY}
)
"""Maps whose values are ids of programs or maps: not the same numbers in two worlds."""
LRU = frozenset({MapType.LRU_HASH, MapType.LRU_PERCPU_HASH})


@pytest.fixture(scope="module")
def frames(tmp_path_factory: pytest.TempPathFactory) -> list[bytes]:
    """About 240 varied frames: a generated capture, big frames, and frames cut short."""
    path = tmp_path_factory.mktemp("pcap") / "synth.pcap"
    write_synth_pcap(path, 160, seed=23)
    out = [p.data for p in read_packets(path)]
    out += list(Synth(24, max_payload=1400).frames(50))
    rng = random.Random(25)
    out += [f[: rng.randrange(14, len(f) + 1)] for f in rng.sample(out, 30)]
    return out


@pytest.fixture
def cpu() -> Iterator[int]:
    """Run on one CPU (the VM's runtime says the same CPU)."""
    allowed = os.sched_getaffinity(0)
    one = min(allowed)
    os.sched_setaffinity(0, {one})
    try:
        yield one
    finally:
        os.sched_setaffinity(0, allowed)


def outcome(run: Callable[[], Any]) -> tuple[Any, ...]:
    """``("ok", retval, data_out)`` or ``("error", errno)`` for a refused run."""
    try:
        res = run()
    except UnknownHelperError:
        raise
    except BpfError as exc:
        return ("error", getattr(exc, "errno", None))
    return ("ok", res.retval, res.data_out)


def contents(m: Any) -> dict[bytes, bytes] | tuple[str, int]:
    """A map's contents through its ``MutableMapping`` face (slots that vanish skipped)."""
    out: dict[bytes, bytes] = {}
    try:
        for key in list(m):
            try:
                out[key] = m[key]
            except KeyError:
                continue
    except MapError as exc:
        return ("error", exc.errno)
    return out


def compare_program(name: str, program: str, frames: list[bytes], cpu: int) -> None:
    spec = load_file(BPF_DIR / f"{name}.o")
    vobj = VmObject.load(spec, ncpus=possible_cpus())
    with KernelObject.load(spec) as kobj:
        vprog, kprog = vobj.programs[program], kobj.programs[program]
        seen = set()
        for i, frame in enumerate(frames):
            rt = vprog.vm.new_runtime(cpu=cpu)
            try:
                got = outcome(lambda: vprog.test_run(frame, runtime=rt))  # noqa: B023
            except UnknownHelperError as exc:
                pytest.skip(f"helper {exc.helper_id} is not implemented on the VM")
            want = outcome(lambda: kprog.test_run(frame))  # noqa: B023
            assert got == want, f"frame {i} ({len(frame)} bytes): {frame[:34].hex()}"
            seen.add(got[:2])
        compared = 0
        for map_name, vm_map in vobj.maps.items():
            if vm_map.map_type in ID_VALUES or isinstance(vm_map, KernelOnlyMap):
                continue
            got, want = contents(vm_map), contents(kobj.maps[map_name])
            if vm_map.map_type in LRU and isinstance(got, dict) and isinstance(want, dict):
                # who is evicted once the LRU lists run dry is the kernel's per-CPU
                # free-list business: agree on what both still hold
                common = got.keys() & want.keys()
                assert {k: got[k] for k in common} == {k: want[k] for k in common}, map_name
                assert max(len(got), len(want)) <= vm_map.max_entries, map_name
            else:
                assert got == want, map_name
            compared += 1
    assert seen
    assert compared == len(
        [
            m
            for m in vobj.maps.values()
            if m.map_type not in ID_VALUES and not isinstance(m, KernelOnlyMap)
        ]
    )


@pytest.mark.parametrize(("name", "program"), PACKET_PROGRAMS)
def test_packet_programs_agree_with_the_kernel(
    name: str, program: str, frames: list[bytes], cpu: int
) -> None:
    compare_program(name, program, frames, cpu)


@pytest.mark.parametrize(("name", "program"), OTHER_PACKET_PROGRAMS)
def test_packet_programs_of_other_objects_agree(
    name: str, program: str, frames: list[bytes], cpu: int
) -> None:
    compare_program(name, program, frames, cpu)


def test_tail_calls_and_global_data_in_the_kernel() -> None:
    with KernelObject.load(load_file(BPF_DIR / "tail_calls.o")) as obj:
        assert obj.programs["tail_entry"].test_run(bytes(64)).retval == XdpAction.PASS
        hits = obj.maps["stage_hits"]
        assert [hits[struct.pack("<I", i)] for i in range(3)] == [struct.pack("<Q", 1)] * 3
    with KernelObject.load(load_file(BPF_DIR / "globals.o"), kconfig={"CONFIG_HZ": 123}) as obj:
        assert obj.btf is not None and obj.btf_error is None
        out = obj.programs["globals_report"].test_run(bytes(64)).data_out
        assert struct.unpack_from("<II", out, 0)[1] == 123
        with pytest.raises(MapError) as err:  # .rodata is frozen
            obj.maps["globals.rodata"][bytes(4)] = bytes(14)
        assert err.value.errno == errno.EPERM


def test_close_releases_every_fd() -> None:
    obj = KernelObject.load(load_file(BPF_DIR / "btf_maps.o"), programs=["maps_xdp"])
    fds = [m.fd for m in obj.maps.values()] + [p.fd for p in obj.programs.values()]
    assert obj.btf is not None
    fds.append(obj.btf.fd)
    obj.close()
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)


def test_maps_that_need_btf_need_btf() -> None:
    spec = load_file(BPF_DIR / "btf_maps.o")
    with pytest.raises(MapError):  # local storage maps name their types in BTF
        KernelObject.load(spec, btf=False, programs=["maps_xdp"])
    with KernelObject.load(load_file(BPF_DIR / "xdp_drop_src.o"), btf=False) as obj:
        assert obj.btf is None
        assert obj.programs["xdp_drop_src"].test_run(bytes(64)).retval in (1, 2)


# -- every object of the manifest ----------------------------------------------------------
def _skip_unless_loadable(entry: dict[str, Any]) -> None:
    option = entry.get("load", {}).get("kconfig")
    if option:
        config = read_kernel_config()
        if config is None or config.get(option) not in ("y", "m"):
            pytest.skip(f"{option} is not set: {entry['load']['why']}")


@pytest.mark.parametrize("name", GOOD)
def test_every_good_object_loads_in_the_kernel(name: str) -> None:
    entry = objects()[name]
    _skip_unless_loadable(entry)
    try:
        obj = KernelObject.load(load_file(BPF_DIR / f"{name}.o"))
    except NotSupportedError as exc:
        may_fail = entry.get("load", {}).get("may_fail")
        if may_fail and "EPERM" in exc.feature:
            pytest.skip(f"refused here ({exc.feature}): {entry['load']['why']}")
        raise
    with obj:
        assert sorted(obj.programs) == sorted(p["name"] for p in entry["programs"])
        by_name = {m["kernel_name"]: m for m in entry["maps"]}
        assert sorted(m.info().name for m in obj.maps.values()) == sorted(by_name)
        for m in obj.maps.values():
            info = m.info()
            want = by_name[info.name]
            assert int(info.type) == enum_value("map_type", want["type"]), info.name
            assert (info.key_size, info.value_size) == (want["key_size"], want["value_size"])
            entries = want.get("kernel_max_entries", want["max_entries"])
            if entries == "possible_cpus":
                entries = possible_cpus()
            assert info.max_entries == entries, info.name
            assert info.flags == want.get("kernel_flags", want["flags"]), info.name
            if m.spec.type not in NO_BTF_MAP_TYPES:
                assert info.btf_id or not (m.spec.btf_key_type_id or m.spec.btf_value_type_id)


def _refusal_without_caps(path: Path, caps: list[str]) -> dict[str, Any]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed: cannot drop capabilities")
    code = (
        "import json, sys\n"
        "from ebpy.elf.loader import load_file\n"
        "from ebpy.errors import KernelError\n"
        "from ebpy.kernel.objects import NO_BTF_MAP_TYPES, KernelObject\n"
        "try:\n"
        "    KernelObject.load(load_file(sys.argv[1])).close()\n"
        "except KernelError as e:\n"
        "    print(json.dumps({'errno': e.errno, 'log': e.log}))\n"
        "else:\n"
        "    print('{}')\n"
    )
    drop = ",".join(f"-{c}" for c in caps)
    args = [setpriv, "--inh-caps", drop, "--bounding-set", drop, sys.executable, "-c", code]
    res = subprocess.run([*args, str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    doc: dict[str, Any] = json.loads(res.stdout)
    return doc


@pytest.mark.parametrize("name", BROKEN)
def test_broken_objects_are_refused_by_the_kernel(name: str) -> None:
    entry = objects()[name]
    path = BPF_DIR / f"{name}.o"
    caps = entry.get("load", {}).get("drop_caps")
    if caps:
        doc = _refusal_without_caps(path, caps)
        assert doc, f"{name} loaded without {caps}"
        log = doc["log"]
    else:
        with pytest.raises(KernelError) as err:
            KernelObject.load(load_file(path))
        assert err.value.cmd == "BPF_PROG_LOAD"
        log = err.value.log
    assert any(text in log for text in entry["kernel_log"]), log[-2000:]
