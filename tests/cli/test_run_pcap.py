"""``ebpy run --pcap``, ``--type``, ``--map``, ``--ctx``: verdict tables, JSON, written captures, errors.

The programs run over captures from ``ebpy.pcap.synth``; what they should
count, drop and write is worked out here from the frames themselves.
"""

from __future__ import annotations

import importlib.util
import json
import re
import struct
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest
from click.testing import CliRunner

import ebpy.cli.run as run_module
from ebpy.cli.main import EXIT_FAILED, EXIT_USAGE, main
from ebpy.errors import InputError
from ebpy.pcap import LinkType, Packet, PcapngWriter, read_packets, write_packets
from ebpy.pcap.synth import synth_packets, write_synth_pcap
from ebpy.progtypes import PROG_TYPES
from ebpy.uapi import MapType, ProgType

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "bench" / "bench_xdp_pcap.py"
needs_xdp = pytest.mark.skipif(ProgType.XDP not in PROG_TYPES, reason="XDP program type not here")


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_xdp_pcap", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    main(list(args))


def invoke(*args: str, input: bytes | None = None) -> tuple[int, str, str]:
    """Run ``ebpy ARGS`` as the console script does; (exit code, stdout, stderr)."""
    result = CliRunner().invoke(_entry, list(args), input=input)
    assert "Traceback" not in result.stdout + result.stderr
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def run_json(*args: str, input: bytes | None = None) -> dict[str, Any]:
    """``ebpy run ARGS --json``, which must succeed; its JSON document."""
    code, out, err = invoke("run", *args, "--json", input=input)
    assert code == 0, err
    doc: dict[str, Any] = json.loads(out)
    return doc


def one_error_line(code: int, out: str, err: str, expected: int = EXIT_USAGE) -> str:
    assert code == expected, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ebpy: error:"), err
    return lines[0]


# -- what the parser program should do, worked out in Python ----------------------------
def expected(frame: bytes) -> tuple[str, bool, bool]:
    """(slot, dropped, to port 443) for one frame, as the bench's parser sees it."""
    ethertype, off = frame[12:14], 14
    if ethertype == b"\x81\x00":
        ethertype, off = frame[16:18], 18
    if ethertype == b"\x08\x06":
        return "arp", False, False
    if ethertype == b"\x08\x00":
        if frame[off + 12 : off + 16] == bytes((10, 0, 0, 1)):
            return "dropped", True, False
        proto, l4 = frame[off + 9], off + (frame[off] & 15) * 4
        slot = {1: "icmp4", 6: "tcp4", 17: "udp4"}.get(proto, "other")
    elif ethertype == b"\x86\xdd":
        proto, l4 = frame[off + 6], off + 40
        slot = {58: "icmp6", 6: "tcp6", 17: "udp6"}.get(proto, "other")
    else:
        return "other", False, False
    to443 = slot[:3] in ("tcp", "udp") and frame[l4 + 2 : l4 + 4] == b"\x01\xbb"
    return slot, False, to443


def doc_counters(doc: dict[str, Any]) -> list[int]:
    """The parser's ``counts`` map slots 0-9, from a run's JSON maps."""
    values = {int(e["key"], 16): e["value"] for e in doc["maps"]["counts"]}
    return [int.from_bytes(bytes.fromhex(values.get(i << 24, "")), "little") for i in range(10)]


def expected_counters(frames: list[bytes], slots: tuple[str, ...]) -> list[int]:
    tally: Counter[str] = Counter()
    for frame in frames:
        slot, _, to443 = expected(frame)
        tally[slot] += 1
        tally["to443"] += to443
    return [tally[s] for s in slots]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return _bench()


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Packet]]:
    path = tmp_path_factory.mktemp("pcap") / "in.pcap"
    write_synth_pcap(path, 2000, seed=21)
    return path, read_packets(path)


@pytest.fixture(scope="module")
def parser_prog(tmp_path_factory: pytest.TempPathFactory, bench: ModuleType) -> Path:
    path = tmp_path_factory.mktemp("prog") / "parse.s"
    path.write_text(bench.program_text())
    return path


def parser_run(parser_prog: Path, bench: ModuleType, pcap: Path) -> list[str]:
    """The arguments of ``ebpy run`` (after ``run``) for the bench's parser over ``pcap``."""
    return [str(parser_prog), "-t", "xdp", "--map", bench.MAP_OPTION, "--pcap", str(pcap)]


def skip_without_bpf() -> None:
    from ebpy.kernel import bpf_unavailable_reason

    reason = bpf_unavailable_reason()
    if reason is not None:
        pytest.skip(f"bpf(2) unavailable: {reason}")


def asm(tmp_path: Path, text: str, name: str = "prog.s") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# -- runs over a capture ------------------------------------------------------------------
@needs_xdp
def test_verdict_table(
    capture: tuple[Path, list[Packet]], parser_prog: Path, bench: ModuleType
) -> None:
    path, packets = capture
    code, out, err = invoke("run", *parser_run(parser_prog, bench, path))
    assert code == 0, err
    drops = sum(expected(p.data)[1] for p in packets)
    rows = {m[0]: int(m[1]) for m in re.findall(r"(XDP_\w+)\D+?(\d+)", out)}
    assert rows == {"XDP_PASS": len(packets) - drops, "XDP_DROP": drops}
    assert "packets/s" in out
    assert "map counts:" in out
    assert err == ""


@needs_xdp
def test_json_fields_and_maps(
    capture: tuple[Path, list[Packet]], parser_prog: Path, bench: ModuleType
) -> None:
    path, packets = capture
    code, out, err = invoke("run", *parser_run(parser_prog, bench, path), "--json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    drops = sum(expected(p.data)[1] for p in packets)
    assert doc["packets"] == len(packets)
    assert doc["verdicts"] == {"XDP_PASS": len(packets) - drops, "XDP_DROP": drops}
    assert doc["written"] is None and doc["errors"] == {}
    assert doc["duration_ns"] > 0 and doc["packets_per_second"] > 0
    assert doc_counters(doc) == expected_counters([p.data for p in packets], bench.SLOTS)


@needs_xdp
@pytest.mark.parametrize("suffix", ["pcap", "pcapng"])
def test_written_capture_holds_the_passed_packets(
    tmp_path: Path, capture: tuple[Path, list[Packet]], parser_prog: Path, bench: ModuleType,
    suffix: str,
) -> None:  # fmt: skip
    path, packets = capture
    out_path = tmp_path / f"out.{suffix}"
    doc = run_json(*parser_run(parser_prog, bench, path), "-w", str(out_path))
    passed = [p for p in packets if not expected(p.data)[1]]
    written = read_packets(out_path)
    assert doc["written"] == len(written) == len(passed)
    assert [(p.ts_ns, p.data, p.orig_len) for p in written] == [
        (p.ts_ns, p.data, p.orig_len) for p in passed
    ]


# Swaps the MAC addresses and returns XDP_TX (XDP_DROP for a frame under 14 bytes).
SWAP_MACS_TX = (ROOT / "tests" / "testdata" / "progs" / "xdp_swap.s").read_text()


@needs_xdp
def test_xdp_tx_writes_the_rewritten_packet(
    tmp_path: Path, capture: tuple[Path, list[Packet]]
) -> None:
    path, packets = capture
    out_path = tmp_path / "tx.pcap"
    doc = run_json(
        asm(tmp_path, SWAP_MACS_TX), "-t", "xdp", "--pcap", str(path), "-w", str(out_path)
    )
    assert doc["verdicts"] == {"XDP_TX": len(packets)}
    assert [p.data for p in read_packets(out_path)] == [
        p.data[6:12] + p.data[0:6] + p.data[12:] for p in packets
    ]


# ARP frames make the program read far outside the packet.
FAIL_ON_ARP = """
        r2 = *(u32 *)(r1 +0)
        r3 = *(u32 *)(r1 +4)
        r4 = r2
        r4 += 14
        if r4 > r3 goto pass
        r5 = *(u16 *)(r2 +12)
        if r5 != 0x608 goto pass
        r0 = *(u8 *)(r2 +30000)
pass:
        r0 = 2
        exit
"""


@needs_xdp
def test_program_errors_are_counted_and_the_run_goes_on(
    tmp_path: Path, capture: tuple[Path, list[Packet]]
) -> None:
    path, packets = capture
    prog = asm(tmp_path, FAIL_ON_ARP)
    doc = run_json(prog, "-t", "xdp", "--pcap", str(path))
    arp = sum(1 for p in packets if p.data[12:14] == b"\x08\x06")
    assert arp > 0
    assert doc["errors"] == {"MemoryAccessError": arp}
    assert doc["verdicts"] == {"XDP_PASS": len(packets) - arp}
    assert doc["packets"] == len(packets)
    code, out, err = invoke("run", prog, "-t", "xdp", "--pcap", str(path))
    assert code == 0 and "MemoryAccessError" in out
    code, out, err = invoke("run", prog, "-t", "xdp", "--pcap", str(path), "--stop-on-error")
    one_error_line(code, out, err, EXIT_FAILED)


@needs_xdp
def test_link_types_are_turned_into_ethernet(tmp_path: Path) -> None:
    frames = [p for p in synth_packets(50, seed=3) if p.data[12:14] == b"\x08\x00"]
    path = tmp_path / "mixed.pcapng"
    with PcapngWriter(path) as w:
        for i, p in enumerate(frames):
            if i % 2:
                w.write(Packet(p.ts_ns, p.data[14:], p.orig_len - 14, LinkType.RAW))
            else:
                w.write(p)
    out_path = tmp_path / "out.pcap"
    prog = asm(tmp_path, "r0 = 2\nexit")
    doc = run_json(prog, "-t", "xdp", "--pcap", str(path), "-w", str(out_path))
    assert doc["verdicts"] == {"XDP_PASS": len(frames)}
    written = read_packets(out_path)
    assert all(p.linktype == LinkType.ETHERNET for p in written)
    expect = [p.data if i % 2 == 0 else bytes(12) + p.data[12:] for i, p in enumerate(frames)]
    assert [p.data for p in written] == expect


@needs_xdp
def test_capture_from_stdin(tmp_path: Path, capture: tuple[Path, list[Packet]]) -> None:
    path, packets = capture
    prog = asm(tmp_path, "r0 = 1\nexit")
    doc = run_json(prog, "-t", "xdp", "--pcap", "-", input=path.read_bytes())
    assert doc["verdicts"] == {"XDP_DROP": len(packets)}


@needs_xdp
def test_progress_bar_path(
    tmp_path: Path, capture: tuple[Path, list[Packet]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run_module, "_stderr_is_terminal", lambda: True)
    monkeypatch.setattr(run_module, "PROGRESS_MIN_BYTES", 0)
    monkeypatch.setattr(run_module, "_PROGRESS_EVERY", 16)
    path, packets = capture
    code, out, _ = invoke("run", asm(tmp_path, "r0 = 2\nexit"), "-t", "xdp", "--pcap", str(path))
    assert code == 0 and re.search(rf"XDP_PASS\D+{len(packets)}", out)
    code, out, err = invoke(
        "run", asm(tmp_path, "r0 = 2\nexit"), "-t", "xdp", "--pcap", str(path), "--json"
    )
    assert code == 0 and err == "" and json.loads(out)["packets"] == len(packets)


@needs_xdp
def test_100k_packets_end_to_end(tmp_path: Path, parser_prog: Path, bench: ModuleType) -> None:
    path = tmp_path / "big.pcap"
    write_synth_pcap(path, 100_000, seed=5)
    out_path = tmp_path / "out.pcap"
    doc = run_json(*parser_run(parser_prog, bench, path), "-w", str(out_path))
    drops = sum(expected(p.data)[1] for p in synth_packets(100_000, seed=5))
    assert doc["packets"] == 100_000
    assert doc["verdicts"] == {"XDP_PASS": 100_000 - drops, "XDP_DROP": drops}
    assert doc["written"] == 100_000 - drops


# Count untagged IPv4 frames by IP protocol in a hash map: the README's example map.
COUNT_BY_PROTO = """
        r2 = *(u32 *)(r1 +0)
        r3 = *(u32 *)(r1 +4)
        r4 = r2
        r4 += 34
        if r4 > r3 goto out
        r5 = *(u16 *)(r2 +12)
        if r5 != 0x8 goto out
        r5 = *(u8 *)(r2 +23)
        *(u32 *)(r10 -4) = r5
        r1 = map[idx:0]
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto new
        r1 = 1
        lock *(u64 *)(r0 +0) += r1
        goto out
new:
        r1 = 1
        *(u64 *)(r10 -16) = r1
        r1 = map[idx:0]
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 0
        call 2
out:
        r0 = 2
        exit
"""


@needs_xdp
def test_hash_map_contents_in_json(tmp_path: Path, capture: tuple[Path, list[Packet]]) -> None:
    from ebpy.maps import MAP_TYPES

    if MapType.HASH not in MAP_TYPES:
        pytest.skip("hash maps not here")
    path, packets = capture
    prog = asm(tmp_path, COUNT_BY_PROTO)
    args = (prog, "-t", "xdp", "--map", "counts:hash:4:8:1024", "--pcap", str(path))
    got = {
        int.from_bytes(bytes.fromhex(e["key"]), "little"): int.from_bytes(
            bytes.fromhex(e["value"]), "little"
        )
        for e in run_json(*args)["maps"]["counts"]
    }
    expect = Counter(p.data[23] for p in packets if p.data[12:14] == b"\x08\x00")
    assert got == dict(expect)
    code, out, _ = invoke("run", *args)
    assert code == 0 and "map counts:" in out
    assert (
        f"key {(6).to_bytes(4, 'little').hex()}  value {expect[6].to_bytes(8, 'little').hex()}"
        in out
    )


# -- what each program type lets through -------------------------------------------------
@pytest.mark.parametrize(
    ("kind", "r0", "keeps", "limit"),
    [
        ("xdp", 2, True, None),
        ("xdp", 3, True, None),
        ("xdp", 1, False, None),
        ("xdp", 4, False, None),
        ("tc", 0, True, None),
        ("tc", -1, True, None),
        ("tc", 3, True, None),
        ("tc", 1, True, None),
        ("tc", 5, True, None),
        ("tc", 2, False, None),
        ("tc", 4, False, None),
        ("tc", 7, False, None),
        ("tc", 8, False, None),
        ("sched_act", 0, True, None),
        ("sched_act", 4, True, None),
        ("sched_act", 2, False, None),
        ("sched_act", 7, False, None),
        ("socket_filter", 0, False, None),
        ("socket_filter", 20, True, 20),
        ("socket_filter", 0xFFFF, True, None),
        ("cgroup_skb", 1, True, None),
        ("cgroup_skb", 0, False, None),
    ],
)
def test_what_each_type_lets_through(
    tmp_path: Path, kind: str, r0: int, keeps: bool, limit: int | None
) -> None:
    from ebpy.progtypes import prog_type_info

    try:
        info = prog_type_info(kind)
    except InputError:
        pytest.skip(f"program type {kind} not here")
    packets = list(synth_packets(30, seed=4))
    path = tmp_path / "in.pcap"
    write_packets(path, packets)
    out_path = tmp_path / "out.pcap"
    prog = asm(tmp_path, f"r0 = {r0}\nexit")
    doc = run_json(prog, "-t", kind, "--pcap", str(path), "-w", str(out_path))
    assert doc["verdicts"] == {info.verdict_name(r0 & 0xFFFFFFFF): 30}
    written = read_packets(out_path)
    if not keeps:
        assert written == []
        return
    assert [p.data for p in written] == [p.data[:limit] for p in packets]
    assert [p.orig_len for p in written] == [p.orig_len for p in packets]


# -- one input, --type, --ctx, --repeat, --map --------------------------------------------
@needs_xdp
def test_one_packet_test_run(tmp_path: Path) -> None:
    frame = next(synth_packets(1, seed=2)).data
    prog = asm(tmp_path, SWAP_MACS_TX)
    doc = run_json(prog, "-t", "xdp", "--mem", frame.hex())
    assert (doc["retval"], doc["verdict"], doc["ctx_out"]) == (3, "XDP_TX", None)
    assert doc["data_out"] == (frame[6:12] + frame[:6] + frame[12:]).hex()
    data = tmp_path / "frame.bin"
    data.write_bytes(frame)
    assert run_json(prog, "-t", "xdp", "--data", str(data), "--repeat", "5")["repeat"] == 5
    code, out, _ = invoke("run", prog, "-t", "xdp", "--data", str(data), "--repeat", "3")
    assert code == 0 and "XDP_TX" in out and "3 runs" in out


@needs_xdp
def test_ctx_in_gives_ctx_out(tmp_path: Path) -> None:
    from ebpy.progtypes import prog_type_info

    frame = next(synth_packets(1, seed=2)).data
    size = prog_type_info("xdp").ctx_size
    prog = asm(tmp_path, "r0 = 2\nexit")
    ctx_out = run_json(prog, "-t", "xdp", "--mem", frame.hex(), "--ctx", bytes(size).hex())[
        "ctx_out"
    ]
    assert ctx_out is not None and len(bytes.fromhex(ctx_out)) == size


COUNT_TO_MAP = """
        *(u32 *)(r10 -4) = 0
        r1 = map[idx:0]
        r2 = r10
        r2 += -4
        call 1
        if r0 == 0 goto out
        r1 = 7
        *(u64 *)(r0 +0) = r1
out:
        r0 = 0
        exit
"""


def test_plain_run_with_a_map(tmp_path: Path) -> None:
    prog = asm(tmp_path, COUNT_TO_MAP)
    code, out, _ = invoke("run", prog, "--map", "c:array:4:8:2", "--mem", "00")
    assert code == 0 and "map c:" in out and "0700000000000000" in out
    assert run_json(prog, "--map", "c:array:4:8:2")["maps"] == {
        "c": [{"key": "00000000", "value": "0700000000000000"}]
    }
    code, out, _ = invoke("run", asm(tmp_path, "r0 = 0\nexit", "idle.s"), "--map", "c:array:4:8:2")
    assert code == 0 and "map c" not in out


@pytest.mark.parametrize(
    ("text", "map_type", "sizes"),
    [
        ("counts:array:4:8:16", MapType.ARRAY, (4, 8, 16, 0)),
        ("x:ARRAY:4:0x10:1:0", MapType.ARRAY, (4, 16, 1, 0)),
        (":array:4:4:1", MapType.ARRAY, (4, 4, 1, 0)),
        ("counts:hash:4:8:1024", MapType.HASH, (4, 8, 1024, 0)),
        ("lru:lru_hash:8:8:64:0", MapType.LRU_HASH, (8, 8, 64, 0)),
    ],
)
def test_parse_map_spec(text: str, map_type: MapType, sizes: tuple[int, ...]) -> None:
    from ebpy.maps import MAP_TYPES

    if map_type not in MAP_TYPES:
        pytest.skip(f"{map_type.name} maps not here")
    m = run_module.parse_map_spec(text, 3)
    assert m.spec.type == map_type
    assert (m.key_size, m.value_size, m.max_entries, m.flags) == sizes
    assert m.name == (text.split(":")[0] or "map3")


@pytest.mark.parametrize(
    "text",
    [
        "counts",
        "a:array:4:8",
        "a:nosuch:4:8:16",
        "a:array:x:8:16",
        "a:array:4:8:0",
        "a:array:0:8:4",
    ],
)
def test_parse_map_spec_refuses(text: str) -> None:
    with pytest.raises(InputError):
        run_module.parse_map_spec(text, 0)


# -- bad input: exit 2 and one line --------------------------------------------------------
def test_bad_capture_files(tmp_path: Path, capture: tuple[Path, list[Packet]]) -> None:
    if ProgType.XDP not in PROG_TYPES:
        pytest.skip("XDP program type not here")
    path, _ = capture
    prog = asm(tmp_path, "r0 = 2\nexit")
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(path.read_bytes()[:5000])
    text = tmp_path / "notes.txt"
    text.write_text("these are not packets\n" * 10)
    empty = tmp_path / "empty.pcap"
    empty.write_bytes(b"")
    odd = tmp_path / "odd.pcap"
    write_packets(odd, [Packet(0, b"\x00" * 40, 40, 147)])
    for bad in (cut, text, empty, odd, tmp_path / "missing.pcap"):
        code, out, err = invoke("run", prog, "-t", "xdp", "--pcap", str(bad))
        line = one_error_line(code, out, err)
        assert str(bad) in line
        assert out == ""
    code, out, err = invoke("run", prog, "-t", "xdp", "--pcap", str(path), "-w", str(tmp_path))
    one_error_line(code, out, err)


@pytest.mark.parametrize(
    "args",
    [
        ["-w", "out.pcap"],
        ["-t", "xdp", "--pcap", "{pcap}", "--mem", "00"],
        ["-t", "xdp", "--pcap", "{pcap}", "--repeat", "2"],
        ["--pcap", "{pcap}"],
        ["-t", "nosuchtype", "--pcap", "{pcap}"],
        ["-t", "kprobe", "--pcap", "{pcap}"],
        ["-t", "xdp", "--map", "a:nosuch:4:8:16", "--pcap", "{pcap}"],
        ["-t", "xdp", "--map", "a:array:4:8", "--pcap", "{pcap}"],
        ["-t", "xdp", "--ctx", "zz", "--mem", "00"],
        ["--mem", "00", "--data", "{pcap}"],
        ["--mem", "00", "--ctx", "00"],
    ],
)
def test_bad_options(tmp_path: Path, capture: tuple[Path, list[Packet]], args: list[str]) -> None:
    path, _ = capture
    prog = asm(tmp_path, "r0 = 2\nexit")
    argv = [a.replace("{pcap}", str(path)) for a in args]
    code, out, err = invoke("run", prog, *argv)
    one_error_line(code, out, err)


def test_udp_header_helper_agrees_with_synth() -> None:
    """The test's own frame reading (``expected``) sees ports where the generator puts them."""
    for p in synth_packets(300, seed=6):
        slot, dropped, to443 = expected(p.data)
        if slot in ("udp4", "tcp4") and not dropped:
            off = 18 if p.data[12:14] == b"\x81\x00" else 14
            l4 = off + (p.data[off] & 15) * 4
            assert to443 == (struct.unpack_from("!H", p.data, l4 + 2)[0] == 443)


# -- the kernel as the oracle ---------------------------------------------------------------
@needs_xdp
@pytest.mark.kernel
def test_kernel_agrees_on_verdicts_counters_and_written_packets(
    tmp_path: Path, capture: tuple[Path, list[Packet]], parser_prog: Path, bench: ModuleType
) -> None:
    """The parser through ``ebpy run --pcap`` and through BPF_PROG_TEST_RUN, packet by packet."""
    skip_without_bpf()
    kernel_map = pytest.importorskip("ebpy.kernel.map")
    from ebpy.isa.asm import assemble
    from ebpy.kernel import KernelProgram

    path, packets = capture
    out_path = tmp_path / "out.pcap"
    doc = run_json(*parser_run(parser_prog, bench, path), "-w", str(out_path))
    info_names = {1: "XDP_DROP", 2: "XDP_PASS"}
    with kernel_map.KernelMap.create(bench.MAP_SPEC) as counts:
        insns = assemble(bench.program_text(f"map[id:{counts.fd}]"))
        with KernelProgram.load(insns, ProgType.XDP) as prog:
            results = [prog.test_run(p.data) for p in packets]
        kernel_counts = bench.counters(counts)
    verdicts = Counter(info_names[r.retval] for r in results)
    assert doc["verdicts"] == dict(verdicts)
    assert doc_counters(doc) == kernel_counts
    passed = [r.data_out for r in results if r.retval == 2]
    assert [p.data for p in read_packets(out_path)] == passed


@needs_xdp
@pytest.mark.kernel
def test_kernel_agrees_on_rewritten_packets(
    tmp_path: Path, capture: tuple[Path, list[Packet]]
) -> None:
    skip_without_bpf()
    from ebpy.isa.asm import assemble
    from ebpy.kernel import KernelProgram

    path, packets = capture
    out_path = tmp_path / "tx.pcap"
    prog_path = asm(tmp_path, SWAP_MACS_TX)
    code, _, _ = invoke("run", prog_path, "-t", "xdp", "--pcap", str(path), "-w", str(out_path))
    assert code == 0
    with KernelProgram.load(assemble(SWAP_MACS_TX), ProgType.XDP) as prog:
        expect = [prog.test_run(p.data).data_out for p in packets[:300]]
    assert [p.data for p in read_packets(out_path)][:300] == expect


@pytest.mark.parametrize(
    ("kind", "section", "expect"),
    [
        ("xdp", None, ProgType.XDP),
        ("tc", "xdp", ProgType.SCHED_CLS),
        (None, "xdp", ProgType.XDP),
        (None, "tc/ingress", ProgType.SCHED_CLS),
        (None, "classifier", ProgType.SCHED_CLS),
        (None, "socket", ProgType.SOCKET_FILTER),
        (None, ".text", None),
        (None, "license", None),
        (None, None, None),
    ],
)
def test_program_type_from_option_or_section(
    kind: str | None, section: str | None, expect: ProgType | None
) -> None:
    for needed in (expect, ProgType.XDP if kind == "xdp" else None):
        if needed is not None and needed not in PROG_TYPES:
            pytest.skip(f"{needed.name} not here")
    info = run_module._resolve_type(kind, section)
    assert (info.prog_type if info is not None else None) == expect


def test_example_xdp_count_runs_over_the_sample_pcap() -> None:
    """The README's and ``make demo``'s example: counts per protocol, drops 10.0.0.1."""
    root = ROOT / "examples"
    doc = run_json(
        str(root / "xdp_count.s"), "-t", "xdp", "--map", "counts:hash:4:8:256",
        "--pcap", str(root / "sample.pcap"),
    )  # fmt: skip
    assert doc["packets"] == 200
    assert set(doc["verdicts"]) <= {"XDP_PASS", "XDP_DROP"}
    assert doc["verdicts"]["XDP_DROP"] > 0
