"""``ebpy run FILE.o``: object files on the VM and in the kernel, over captures and memory.

The program is chosen by section, by name or by default; it runs with the
object's maps; the verdict table, JSON and the written capture are what a
``VmObject`` run of the same program gives, packet for packet. Errors are one
line and an exit code, never a traceback.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ebpy.cli.main import EXIT_FAILED, EXIT_USAGE, main
from ebpy.elf.loader import load_file
from ebpy.kernel import bpf_unavailable_reason
from ebpy.pcap import read_packets
from ebpy.pcap.synth import write_synth_pcap
from ebpy.uapi import XdpAction
from ebpy.vm.kconfig import kernel_version_code
from ebpy.vm.objects import VmObject
from tests.testdata_checks.corpus import BPF_DIR

XDP_NAMES = {int(a): f"XDP_{a.name}" for a in XdpAction}
needs_kernel = pytest.mark.skipif(
    bpf_unavailable_reason() is not None, reason=f"bpf(2): {bpf_unavailable_reason()}"
)


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    main(list(args))


def invoke(*args: str) -> tuple[int, str, str]:
    """``ebpy ARGS`` as the console script runs it: (exit code, stdout, stderr)."""
    result = CliRunner().invoke(_entry, list(args))
    assert "Traceback" not in result.stdout + result.stderr
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str) -> dict[str, Any]:
    code, out, err = invoke("run", *args, "--json")
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def one_error_line(code: int, err: str, expected: int) -> str:
    assert code == expected, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ebpy: error:"), err
    return lines[0]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("run") / "in.pcap"
    write_synth_pcap(path, 300, seed=5)
    return path


def expected_run(name: str, program: str, frames: list[bytes]) -> tuple[Counter[str], list[bytes]]:
    """Verdicts and the frames an XDP program lets through, from a ``VmObject``."""
    prog = VmObject.load(load_file(BPF_DIR / f"{name}.o")).programs[program]
    verdicts: Counter[str] = Counter()
    passed = []
    for frame in frames:
        res = prog.test_run(frame)
        verdicts[XDP_NAMES[res.retval]] += 1
        if res.retval in (XdpAction.PASS, XdpAction.TX):
            passed.append(res.data_out)
    return verdicts, passed


def test_object_over_a_capture_by_section(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "out.pcap"
    obj = str(BPF_DIR / "xdp_drop_src.o")
    doc = run_json(obj, "--section", "xdp", "--pcap", str(capture), "-w", str(out))
    frames = [p.data for p in read_packets(capture)]
    verdicts, passed = expected_run("xdp_drop_src", "xdp_drop_src", frames)
    assert doc["packets"] == len(frames) == 300
    assert doc["verdicts"] == dict(verdicts)
    assert doc["verdicts"]["XDP_DROP"] > 0  # 10.0.0.1 is dropped (.rodata)
    assert doc["written"] == len(passed)
    assert [p.data for p in read_packets(out)] == passed
    assert (doc["program"], doc["section"], doc["backend"]) == ("xdp_drop_src", "xdp", "vm")
    stats = {m["key"]: m["value"] for m in doc["maps"]["drop_stats"]}
    dropped = int.from_bytes(bytes.fromhex(stats["00000000"]), "little")
    assert dropped == verdicts["XDP_DROP"]


def test_program_by_name_and_default(capture: Path) -> None:
    obj = str(BPF_DIR / "multi_prog.o")
    first = run_json(obj, "--pcap", str(capture))
    assert first["program"] == "multi_xdp_pass"
    assert first["verdicts"] == {"XDP_PASS": 300}
    drop = run_json(obj, "--program", "multi_xdp_drop", "--pcap", str(capture))
    assert drop["verdicts"] == {"XDP_DROP": 300}
    assert drop["maps"]["hits"] == [
        {
            "key": "01000000",
            "value": struct.pack("<Q", 300).hex(),
            "formatted": {"key": 1, "value": 300},  # by the map's BTF key and value types
        }
    ]
    sock = run_json(obj, "--section", "socket", "--pcap", str(capture))
    assert sock["program"] == "multi_sock_all" and sock["prog_type"] == "socket_filter"
    tc = run_json(obj, "-p", "multi_tc_shot", "--mem", "00" * 64)
    assert (tc["retval"], tc["verdict"]) == (2, "TC_ACT_SHOT")


def test_type_option_wins_over_the_section(capture: Path) -> None:
    doc = run_json(str(BPF_DIR / "multi_prog.o"), "-p", "multi_tc_ok", "-t", "sched_act",
                   "--pcap", str(capture))  # fmt: skip
    assert doc["prog_type"] == "sched_act"


def test_tail_calls_and_globals_through_the_cli() -> None:
    doc = run_json(str(BPF_DIR / "tail_calls.o"), "-p", "tail_entry", "--mem", "00" * 64)
    assert doc["verdict"] == "XDP_PASS"
    assert len(doc["maps"]["stage_hits"]) == 3
    doc = run_json(str(BPF_DIR / "globals.o"), "-p", "globals_report", "--mem", "00" * 64)
    assert doc["verdict"] == "XDP_TX"
    version = struct.unpack_from("<I", bytes.fromhex(doc["data_out"]))[0]
    assert version == kernel_version_code()


def test_text_output_of_an_object(capture: Path) -> None:
    code, out, _ = invoke("run", str(BPF_DIR / "proto_count.o"), "--pcap", str(capture))
    assert code == 0
    assert "300 packets" in out and "XDP_PASS" in out
    assert "map proto_counts:" in out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--section", "nope"], EXIT_USAGE),
        (["--program", "nope"], EXIT_USAGE),
        (["--section", "xdp", "--program", "multi_xdp_pass"], EXIT_USAGE),
        (["--map", "m:array:4:4:1"], EXIT_USAGE),
        (["--program", "multi_xdp_pass", "--backend", "bogus"], EXIT_USAGE),
    ],
)
def test_bad_choices_are_one_line(args: list[str], expected: int, capture: Path) -> None:
    code, _, err = invoke("run", str(BPF_DIR / "multi_prog.o"), *args, "--pcap", str(capture))
    if "--backend" in args:  # click's own usage error
        assert code == expected and "Traceback" not in err
        return
    one_error_line(code, err, expected)


def test_unknown_section_names_the_sections(capture: Path) -> None:
    code, _, err = invoke("run", str(BPF_DIR / "proto_count.o"), "--section", "xdp/nope",
                          "--pcap", str(capture))  # fmt: skip
    line = one_error_line(code, err, EXIT_USAGE)
    assert "xdp, tc" in line


def test_program_option_needs_an_object(tmp_path: Path) -> None:
    src = tmp_path / "p.s"
    src.write_text("r0 = 2\nexit\n")
    code, _, err = invoke("run", str(src), "--program", "x", "--mem", "00")
    one_error_line(code, err, EXIT_USAGE)


def test_types_the_vm_cannot_run_are_one_line() -> None:
    code, _, err = invoke("run", str(BPF_DIR / "sections.o"), "-p", "sec_sk_msg", "--mem", "00")
    one_error_line(code, err, EXIT_FAILED)


def test_kernel_backend_without_bpf_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import ebpy.kernel

    monkeypatch.setattr(ebpy.kernel, "bpf_unavailable_reason", lambda: "not root")
    code, _, err = invoke("run", str(BPF_DIR / "multi_prog.o"), "--backend", "kernel",
                          "--mem", "00" * 64)  # fmt: skip
    line = one_error_line(code, err, EXIT_FAILED)
    assert "not root" in line


@needs_kernel
def test_kernel_backend_gives_what_the_vm_gives(capture: Path, tmp_path: Path) -> None:
    obj = str(BPF_DIR / "xdp_drop_src.o")
    outs = {}
    docs = {}
    for backend in ("vm", "kernel"):
        outs[backend] = tmp_path / f"{backend}.pcap"
        docs[backend] = run_json(obj, "--backend", backend, "--pcap", str(capture),
                                 "-w", str(outs[backend]))  # fmt: skip
    assert docs["kernel"]["backend"] == "kernel"
    for key in ("packets", "verdicts", "written", "maps"):
        assert docs["vm"][key] == docs["kernel"][key], key
    assert outs["vm"].read_bytes() == outs["kernel"].read_bytes()


@needs_kernel
def test_kernel_backend_runs_assembly_with_maps(tmp_path: Path) -> None:
    src = tmp_path / "count.s"
    src.write_text(
        "r1 = map[idx:0]\nr2 = r10\nr2 += -4\n*(u32 *)(r2 +0) = 0\n"
        "call bpf_map_lookup_elem\nif r0 == 0 goto +2\nr1 = 1\n"
        "lock *(u64 *)(r0 +0) += r1\nr0 = 2\nexit\n"
    )
    args = ["-t", "xdp", "--map", "c:array:4:8:1", "--mem", "00" * 64]
    docs = [run_json(str(src), *args, "--backend", b) for b in ("vm", "kernel")]
    assert docs[0]["retval"] == docs[1]["retval"] == 2
    assert (
        docs[0]["maps"]
        == docs[1]["maps"]
        == {"c": [{"key": "00000000", "value": "0100000000000000"}]}
    )


def test_maps_are_shown_by_their_btf_types(capture: Path) -> None:
    code, out, err = invoke("run", str(BPF_DIR / "globals.o"), "--pcap", str(capture))
    assert code == 0, err
    # the .bss data section by its DATASEC type: variables by name, as bpftool shows them
    bss = next(line for line in out.splitlines() if '".bss"' in line)
    assert '{"packets_seen": 300}' in bss
    doc = run_json(str(BPF_DIR / "globals.o"), "--pcap", str(capture))
    (entry,) = next(v for k, v in doc["maps"].items() if k.endswith(".bss"))
    assert entry["formatted"]["value"][".bss"][0] == {"packets_seen": 300}


@needs_kernel
def test_a_rejected_program_says_why_in_one_line() -> None:
    code, _, err = invoke(
        "run", str(BPF_DIR / "broken_null_deref.o"), "--backend", "kernel", "--mem", "00"
    )
    line = one_error_line(code, err, EXIT_FAILED)
    assert "invalid mem access" in line  # the verifier's reason, from its log
