"""``ebpy filter`` against tcpdump, the kernel and our eBPF VM, over the 20,000-packet corpus.

For every expression of ``tests/cbpf/pcap/expressions.txt``:

1. tcpdump and ``ebpy filter`` either both refuse it or both compile it;
2. ``tcpdump -r corpus.pcap -w A EXPR`` and ``ebpy filter -r corpus.pcap -w B
   EXPR`` (the click command, called in this process) keep the same packets:
   both outputs are read back and their packet indexes compared, and the
   files are byte for byte the same; and the same again with ``-O`` (no
   optimizer) on both sides. Where ebpy's optimized program keeps other
   packets than libpcap's, ``KNOWN_DIFFERENCES`` says which and why;
3. in the kernel (the program attached with ``SO_ATTACH_FILTER`` to an
   ``AF_UNIX`` socket, ``ebpy.kernel.socket_filter.kernel_run``) every packet
   keeps the number of bytes our interpreter gives with the kernel's
   semantics, and of the packets captured whole (where the kernel's ``len``
   is the wire length libpcap uses) the kernel keeps exactly those ``ebpy
   filter -r`` keeps (libpcap's semantics, which 2 holds to tcpdump), unless
   the program reads Linux ancillary data (``inbound``), which a capture file
   has no meaning for; programs the kernel refuses (``protochain`` jumps
   backwards) must be the ones ``ebpy.cbpf.validate`` refuses;
4. the program translated to eBPF (``ebpy.cbpf.to_ebpf``) runs on our VM as a
   socket filter with the interpreter's result (the kernel's semantics; and
   libpcap's verdict for packets captured whole) on a sample of the corpus:
   the first 12 packets of each kind and every 41st packet (about 750 per
   expression; a VM test run costs about 16 us, the whole product would take
   over a minute and a half), the frame behind 14 zero bytes so that the
   program sees it where libpcap's programs look (from the MAC header);
5. ``ebpy filter -dd``/``-ddd`` print the program, which reads back to the
   same instructions and which ``SO_ATTACH_FILTER`` accepts (unless the
   kernel refuses the program itself, as in 3).

Skips: without tcpdump (1, 2), without ``AF_UNIX`` socket filters (3, 5).
"""

from __future__ import annotations

import functools
import socket
from pathlib import Path

import pytest

from ebpy.cbpf.interp import compile_filter_program
from ebpy.cbpf.isa import Insn
from ebpy.cbpf.pcap import compile_filter
from ebpy.cbpf.text import parse_dd, parse_ddd
from ebpy.cbpf.validate import validate
from ebpy.cli.filter import filter_cmd
from ebpy.errors import CbpfError, FilterSyntaxError
from ebpy.pcap import read_packets
from ebpy.pcap.corpus import Kind
from tests.filter_diff.corpus import TCPDUMP, corpus_index, corpus_path, records, tcpdump

ROOT = Path(__file__).resolve().parents[2]
EXPRESSIONS_FILE = ROOT / "tests" / "cbpf" / "pcap" / "expressions.txt"
EXPRESSIONS = [
    line.strip()
    for line in EXPRESSIONS_FILE.read_text().splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]
SAMPLE_PER_KIND = 12
SAMPLE_STRIDE = 41

needs_tcpdump = pytest.mark.skipif(TCPDUMP is None, reason="tcpdump is not installed")

KNOWN_DIFFERENCES: dict[str, str] = {}
"""Expressions where ``ebpy filter`` keeps other packets than tcpdump, and why (each one
an ``xfail(strict=True)``: when the compiler is fixed, the entry must go)."""


def _tcpdump_cases() -> list[object]:
    return [
        pytest.param(e, marks=pytest.mark.xfail(reason=KNOWN_DIFFERENCES[e], strict=True))
        if e in KNOWN_DIFFERENCES
        else e
        for e in EXPRESSIONS
    ]


def _unix_filters() -> str | None:
    try:
        from ebpy.kernel.socket_filter import kernel_check

        kernel_check([Insn(0x06, 0, 0, 0)])
    except Exception as e:  # a kernel without socket filters, or not Linux
        return f"socket filters unavailable: {e}"
    return None


needs_kernel = pytest.mark.skipif(
    not hasattr(socket, "AF_UNIX") or _unix_filters() is not None,
    reason=str(_unix_filters()),
)


def test_expression_list_is_big_enough() -> None:
    assert len(EXPRESSIONS) >= 150


@functools.cache
def _program(expr: str) -> list[Insn] | None:
    try:
        return compile_filter(expr)
    except FilterSyntaxError:
        return None


def _linux_only(prog: list[Insn]) -> bool:
    """The program reads Linux ancillary data (``SKF_AD_OFF`` and above), which the
    kernel has and libpcap's offline interpreter does not."""
    return any(i.code in (0x20, 0x28, 0x30) and i.k >= 0xFFFFF000 for i in prog)


def _kept_indexes(path: Path) -> list[int]:
    index = corpus_index()
    return [index[p.ts_ns] for p in read_packets(path)]


@needs_tcpdump
@pytest.mark.parametrize("expr", _tcpdump_cases())
def test_same_packets_as_tcpdump(expr: str, tmp_path: Path) -> None:
    corpus = str(corpus_path())
    theirs, ours = tmp_path / "tcpdump.pcap", tmp_path / "ebpy.pcap"
    ref = tcpdump("-r", corpus, "-w", str(theirs), "--", expr)
    if ref.returncode != 0 and "expression rejects all packets" in ref.stderr:
        # libpcap refuses a program its optimizer reduces to "ret #0"; ebpy may
        # compile it, and then it must keep nothing
        if _program(expr) is not None:
            filter_cmd.main(["-r", corpus, "-w", str(ours), "--", expr], standalone_mode=False)
            assert _kept_indexes(ours) == []
        return
    if ref.returncode != 0:  # so must ebpy filter -r (the compiler, or the savefile check)
        with pytest.raises(FilterSyntaxError):
            filter_cmd.main(["-r", corpus, "-w", str(ours), "--", expr], standalone_mode=False)
        return
    assert _program(expr) is not None, f"tcpdump compiles {expr!r}, ebpy does not"
    filter_cmd.main(["-r", corpus, "-w", str(ours), "--", *expr.split()], standalone_mode=False)
    assert _kept_indexes(ours) == _kept_indexes(theirs)
    assert ours.read_bytes() == theirs.read_bytes()


@needs_tcpdump
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_same_packets_unoptimized(expr: str, tmp_path: Path) -> None:
    """The same with ``-O`` (no optimizer) on both sides."""
    corpus = str(corpus_path())
    theirs, ours = tmp_path / "tcpdump.pcap", tmp_path / "ebpy.pcap"
    ref = tcpdump("-O", "-r", corpus, "-w", str(theirs), "--", expr)
    if ref.returncode != 0:
        with pytest.raises(FilterSyntaxError):
            filter_cmd.main(
                ["-O", "-r", corpus, "-w", str(ours), "--", expr], standalone_mode=False
            )
        return
    filter_cmd.main(["-O", "-r", corpus, "-w", str(ours), "--", expr], standalone_mode=False)
    assert _kept_indexes(ours) == _kept_indexes(theirs)
    assert ours.read_bytes() == theirs.read_bytes()


@functools.cache
def _libpcap_kept(expr: str) -> frozenset[int] | None:
    """Indexes our program keeps with libpcap's semantics (what ``ebpy filter -r``
    keeps, which test_same_packets_as_tcpdump holds against tcpdump)."""
    prog = _program(expr)
    if prog is None:
        return None
    run = compile_filter_program(prog)
    return frozenset(i for i, (_, p) in enumerate(records()) if run(p.data, p.orig_len))


@needs_kernel
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_kernel_agrees(expr: str) -> None:
    from ebpy.kernel.socket_filter import kernel_check, kernel_run, skb_for_unix

    prog = _program(expr)
    if prog is None:
        pytest.skip("the expression does not compile")
    if kernel_check(prog) != 0:
        with pytest.raises(CbpfError):
            validate(prog)
        return
    validate(prog)
    packets = [p for _, p in records()]
    got = kernel_run(prog, [p.data for p in packets])
    linux = compile_filter_program(prog, skb=skb_for_unix())
    want = [min(linux(p.data, len(p.data)), len(p.data)) for p in packets]
    assert got == want
    if _linux_only(prog):  # ancillary loads: no libpcap meaning to compare with
        return
    kept = _libpcap_kept(expr)
    assert kept is not None
    whole = [i for i, p in enumerate(packets) if len(p.data) == p.orig_len]
    assert [i for i in whole if got[i]] == [i for i in whole if i in kept]


def _sample() -> list[int]:
    seen: dict[Kind, int] = {}
    chosen = set(range(0, len(records()), SAMPLE_STRIDE))
    for i, (kind, _) in enumerate(records()):
        if seen.get(kind, 0) < SAMPLE_PER_KIND:
            seen[kind] = seen.get(kind, 0) + 1
            chosen.add(i)
    return sorted(chosen)


@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_ebpf_translation_on_the_vm(expr: str) -> None:
    from ebpy.cbpf.to_ebpf import to_ebpf
    from ebpy.vm import Vm
    from tests.cbpf.skb import skb_of_test_run

    prog = _program(expr)
    if prog is None:
        pytest.skip("the expression does not compile")
    try:
        validate(prog)
    except CbpfError:
        with pytest.raises(CbpfError):
            to_ebpf(prog)
        return
    vm = Vm(to_ebpf(prog), prog_type="socket_filter")
    kept = _libpcap_kept(expr)
    assert kept is not None
    for i in _sample():
        packet = records()[i][1]
        frame = bytes(14) + packet.data
        linux = compile_filter_program(prog, skb=skb_of_test_run(frame))
        ret = vm.test_run(frame).retval
        assert ret == linux(packet.data, len(packet.data)), (i, packet.data.hex())
        if len(packet.data) == packet.orig_len and not _linux_only(prog):
            assert bool(ret) == (i in kept), i


@needs_kernel
@pytest.mark.parametrize("expr", EXPRESSIONS)
def test_dd_and_ddd_load_into_the_kernel(expr: str, capsys: pytest.CaptureFixture[str]) -> None:
    from ebpy.kernel.socket_filter import kernel_check

    prog = _program(expr)
    if prog is None:
        pytest.skip("the expression does not compile")
    accepted = kernel_check(prog) == 0
    for flag, parse in (("-dd", parse_dd), ("-ddd", parse_ddd)):
        filter_cmd.main([flag, "--", expr], standalone_mode=False)
        printed = capsys.readouterr().out
        insns = parse(printed)
        assert insns == prog
        assert (kernel_check(insns) == 0) == accepted
    if not accepted:  # only programs with a backward jump (protochain's loop)
        assert any(i.code == 0x05 and i.k & 0x8000_0000 for i in prog)
