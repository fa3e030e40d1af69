"""The kernel as oracle for packet program types: ``Vm.test_run`` against ``BPF_PROG_TEST_RUN``.

Every case below is a program (assembly text in ``tests/testdata/progs/``) of a packet type
(``socket_filter``, ``sched_cls``, ``cgroup_skb``, ``xdp``, ``flow_dissector``)
that reads and rewrites packets: direct packet access with bounds checks,
LD_ABS/LD_IND, context fields, maps (array and hash, created in the kernel with
``KernelMap`` and in userspace with ``create_map``; ``lddw`` map references are
patched from ``BPF_PSEUDO_MAP_IDX`` to ``BPF_PSEUDO_MAP_FD`` for the kernel) and
the packet helpers (loads and stores, checksums, head/tail/room changes, VLAN,
protocol, hash, redirect, XDP adjustments across fragments). Each runs on
hypothesis-generated packets (Ethernet with IPv4/IPv6 and TCP/UDP/ICMP, ARP,
junk, VLAN tags, cut short or not; big frames for XDP fragments) and, for some,
generated ``ctx_in``: the VM and the kernel must agree on the outcome (the same
``TestRunError``/``KernelError`` errno, or the same retval, ``data_out``,
``ctx_out`` and map contents afterwards).

Further tests compare, exhaustively, the context access rules (every offset,
size and direction, as ``BPF_PROG_LOAD`` accepts or refuses them), the helper
sets of each type, and grids of helper arguments (``bpf_skb_adjust_room``,
``bpf_csum_diff``, checksum replacement, ``bpf_skb_change_tail``/``head``).
Nothing here sends packets anywhere (no ``bpf_clone_redirect``).
"""

from __future__ import annotations

import functools
import itertools
import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ebpy.errors import ContextAccessError, KernelError
from ebpy.errors import TestRunError as RunError
from ebpy.isa.asm import assemble
from ebpy.isa.encoding import encode
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import PseudoSrc
from ebpy.kernel import KernelMap, KernelProgram
from ebpy.kernel._syscall import close_quietly
from ebpy.kernel.prog import _load_once
from ebpy.maps import Map, create_map
from ebpy.progtypes import prog_type_info
from ebpy.spec import MapSpec
from ebpy.uapi import HelperId, MapType, ProgType
from ebpy.vm import Vm
from tests.progtypes.packets import ETH_P_IP, ether, ipv4, packets, tcp4, udp, udp4, udp6

pytestmark = pytest.mark.kernel

EXAMPLES = 150
"""Packets per program (hypothesis examples)."""

PROGS = Path(__file__).resolve().parent.parent / "testdata" / "progs"


def prog(name: str) -> str:
    """The assembly text of ``tests/testdata/progs/<name>``."""
    return (PROGS / name).read_text()


COUNTS = MapSpec(MapType.ARRAY, 4, 8, 256, name="counts")
FLOWS = MapSpec(MapType.HASH, 4, 8, 1024, name="flows")

# -- programs: socket filters ----------------------------------------------------------
SF_LEN = "r0 = *(u32 *)(r1 +0)\nexit"

SF_CLASSIC = prog("sf_classic.s")

SF_LOADS = prog("sf_loads.s")

SF_FIELDS = prog("sf_fields.s")

SF_MAP = prog("sf_map.s")

# -- programs: tc -----------------------------------------------------------------------
CLS_SWAP = prog("cls_swap.s")

CLS_TTL = prog("cls_ttl.s")

CLS_NAT = prog("cls_nat.s")

CLS_STORE = prog("cls_store.s")

CLS_TAIL = prog("cls_tail.s")

CLS_HEAD = prog("cls_head.s")

CLS_VLAN = prog("cls_vlan.s")

CLS_ROOM = prog("cls_room.s")

CLS_PROTO = prog("cls_proto.s")

CLS_DIFF = prog("cls_diff.s")

CLS_HASHMAP = prog("cls_hashmap.s")

CLS_CTX = prog("cls_ctx.s")

CLS_PULL = prog("cls_pull.s")

CLS_MISC = prog("cls_misc.s")

# -- programs: XDP --------------------------------------------------------------------
XDP_SWAP = prog("xdp_swap.s")

XDP_VLAN_STRIP = prog("xdp_vlan_strip.s")

XDP_ENCAP = prog("xdp_encap.s")

XDP_TAIL = prog("xdp_tail.s")

XDP_META = prog("xdp_meta.s")

XDP_BYTES = prog("xdp_bytes.s")

XDP_CSUM = prog("xdp_csum.s")

XDP_MAP = prog("xdp_map.s")

XDP_REDIRECT = prog("xdp_redirect.s")

XDP_FIELDS = prog("xdp_fields.s")

# -- programs: others ------------------------------------------------------------------
FD_PARSE = prog("fd_parse.s")

CG_READ = prog("cg_read.s")


def skb_ctx() -> st.SearchStrategy[bytes]:
    """``__sk_buff`` for ``ctx_in``: the fields the kernel takes, sometimes one it refuses."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        buf = bytearray(192)
        struct.pack_into("<I", buf, 8, draw(st.integers(0, 2**32 - 1)))  # mark
        struct.pack_into("<I", buf, 32, draw(st.integers(0, 2**32 - 1)))  # priority
        struct.pack_into("<I", buf, 36, draw(st.integers(0, 9)))  # ingress_ifindex
        struct.pack_into("<I", buf, 40, draw(st.sampled_from([0, 1])))  # ifindex
        buf[48:68] = draw(st.binary(min_size=20, max_size=20))  # cb
        struct.pack_into("<Q", buf, 152, draw(st.integers(0, 2**64 - 1)))  # tstamp
        struct.pack_into("<I", buf, 160, draw(st.sampled_from([0, 0, 100, 1500, 65536, 65537])))
        struct.pack_into("<I", buf, 164, draw(st.sampled_from([0, 1, 65535, 65536])))
        struct.pack_into("<I", buf, 176, draw(st.sampled_from([0, 0, 1400])))
        struct.pack_into("<Q", buf, 184, draw(st.integers(0, 2**64 - 1)))  # hwtstamp
        if draw(st.integers(0, 9)) == 0:
            buf[draw(st.sampled_from([0, 4, 16, 68, 72, 180]))] = 1  # refused
        return bytes(buf)

    return build()


def xdp_ctx(size: int) -> st.SearchStrategy[bytes | None]:
    """``xdp_md`` for a ``size``-byte ``data_in``: metadata, linear part, queue."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes | None:
        if draw(st.booleans()):
            return None
        meta = draw(st.sampled_from([0, 0, 4, 8, 32, 6]))
        end = draw(st.sampled_from([size, size, meta + 14, size + 1, min(size, 3600)]))
        ifindex = draw(st.sampled_from([0, 0, 1]))
        return struct.pack("<6I", meta, end, 0, ifindex, 0, 0)

    return build()


@dataclass(frozen=True)
class Case:
    """One program, its type, its maps, the packets and contexts it runs on."""

    name: str
    kind: str
    text: str
    maps: tuple[MapSpec, ...] = ()
    ctx: str = "none"
    """``none``, ``zero`` (an all-zero context), ``skb`` or ``xdp`` (generated)."""
    sizes: tuple[int, int] = (14, 300)
    examples: int = EXAMPLES


CASES = [
    Case("sf_len", "socket_filter", SF_LEN),
    Case("sf_classic_ld_abs", "socket_filter", SF_CLASSIC),
    Case("sf_load_bytes", "socket_filter", SF_LOADS, ctx="zero"),
    Case("sf_fields", "socket_filter", SF_FIELDS, ctx="skb"),
    Case("sf_map", "socket_filter", SF_MAP, maps=(COUNTS,)),
    Case("tc_swap", "sched_cls", CLS_SWAP),
    Case("tc_ttl_l3_csum", "sched_cls", CLS_TTL),
    Case("tc_nat_csum", "sched_cls", CLS_NAT, ctx="zero"),
    Case("tc_store_bytes", "sched_cls", CLS_STORE, ctx="zero"),
    Case("tc_change_tail", "sched_cls", CLS_TAIL, ctx="zero"),
    Case("tc_change_head", "sched_cls", CLS_HEAD, ctx="zero"),
    Case("tc_vlan", "sched_cls", CLS_VLAN, ctx="zero"),
    Case("tc_adjust_room", "sched_cls", CLS_ROOM, ctx="zero"),
    Case("tc_change_proto", "sched_cls", CLS_PROTO, ctx="zero"),
    Case("tc_csum_diff", "sched_cls", CLS_DIFF, ctx="zero"),
    Case("tc_hash_map", "sched_cls", CLS_HASHMAP, maps=(FLOWS,)),
    Case("tc_ctx", "sched_cls", CLS_CTX, ctx="skb"),
    Case("tc_pull_data", "sched_cls", CLS_PULL),
    Case("tc_hash_type_redirect", "sched_cls", CLS_MISC, ctx="zero"),
    Case("act_swap", "sched_act", CLS_SWAP),
    Case("xdp_swap_tx", "xdp", XDP_SWAP),
    Case("xdp_vlan_strip", "xdp", XDP_VLAN_STRIP),
    Case("xdp_encap", "xdp", XDP_ENCAP),
    Case("xdp_tail", "xdp", XDP_TAIL, sizes=(14, 600)),
    Case("xdp_meta", "xdp", XDP_META, ctx="xdp"),
    Case("xdp_bytes_frags", "xdp", XDP_BYTES, sizes=(14, 9000)),
    Case("xdp_tail_frags", "xdp", XDP_TAIL, sizes=(3000, 12000), ctx="xdp"),
    Case("xdp_csum_diff", "xdp", XDP_CSUM),
    Case("xdp_array_map", "xdp", XDP_MAP, maps=(COUNTS,)),
    Case("xdp_redirect", "xdp", XDP_REDIRECT),
    Case("xdp_fields", "xdp", XDP_FIELDS, ctx="xdp"),
    Case("flow_dissector", "flow_dissector", FD_PARSE),
    Case("cgroup_skb", "cgroup_skb", CG_READ, ctx="zero"),
]


# -- running both -----------------------------------------------------------------------
@dataclass
class Loaded:
    vm: Vm
    kernel: KernelProgram
    umaps: list[Map]
    kmaps: list[KernelMap]


def _for_kernel(insns: list[Instruction], kmaps: list[KernelMap]) -> list[Instruction]:
    out = []
    for insn in insns:
        if insn.is_lddw and insn.src == PseudoSrc.MAP_IDX:
            insn = insn.replace(src=PseudoSrc.MAP_FD, imm=kmaps[insn.imm].fd)
        out.append(insn)
    return out


@functools.cache
def loaded(case: Case) -> Loaded:
    insns = assemble(case.text)
    umaps = [create_map(spec) for spec in case.maps]
    kmaps = [KernelMap.create(spec) for spec in case.maps]
    vm = Vm(insns, prog_type=case.kind, maps=umaps)
    kernel = KernelProgram.load(_for_kernel(insns, kmaps), ProgType[case.kind.upper()])
    return Loaded(vm, kernel, umaps, kmaps)


def outcome_vm(prog: Loaded, data: bytes, ctx: bytes | None) -> tuple[object, ...]:
    try:
        res = prog.vm.test_run(data, ctx)
    except RunError as exc:
        return ("error", exc.errno)
    return (res.retval, res.data_out, res.ctx_out)


def outcome_kernel(prog: Loaded, data: bytes, ctx: bytes | None) -> tuple[object, ...]:
    try:
        res = prog.kernel.test_run(data, ctx)
    except KernelError as exc:
        return ("error", exc.errno)
    return (res.retval, res.data_out, res.ctx_out)


def describe(out: tuple[object, ...]) -> str:
    if out[0] == "error":
        return f"errno {out[1]}"
    retval, data, ctx = out
    assert isinstance(data, bytes)
    cb = struct.unpack_from("<5I", ctx, 48) if isinstance(ctx, bytes) and len(ctx) >= 68 else None
    return f"retval {retval:#x} data_out {data.hex()} cb {cb} ctx_out {ctx.hex() if isinstance(ctx, bytes) else ctx}"  # type: ignore[str-format]


def check_same(case: Case, data: bytes, ctx: bytes | None) -> None:
    prog = loaded(case)
    got = outcome_vm(prog, data, ctx)
    want = outcome_kernel(prog, data, ctx)
    assert got == want, (
        f"{case.name}: packet {data.hex()} ctx {ctx.hex() if ctx else ctx}\n"
        f"  vm:     {describe(got)}\n  kernel: {describe(want)}"
    )
    for um, km in zip(prog.umaps, prog.kmaps, strict=True):
        assert dict(um.items()) == dict(km.items()), f"{case.name}: map {um.name} differs"


def _ctx_strategy(case: Case, data: bytes) -> st.SearchStrategy[bytes | None]:
    if case.ctx == "zero":
        return st.just(bytes(192 if case.kind != "xdp" else 24))
    if case.ctx == "skb":
        return skb_ctx()
    if case.ctx == "xdp":
        return xdp_ctx(len(data))
    return st.none()


@st.composite
def inputs(draw: st.DrawFn, case: Case) -> tuple[bytes, bytes | None]:
    lo, hi = case.sizes
    if hi > 1000:
        size = draw(st.integers(lo, hi))
        data = (draw(packets(min_size=14, max_size=400)) + bytes(range(256)) * 50)[:size]
    else:
        data = draw(packets(min_size=lo, max_size=hi))
    return data, draw(_ctx_strategy(case, data))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_vm_matches_kernel(case: Case) -> None:
    @settings(
        max_examples=case.examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(inputs(case))
    def run(given_input: tuple[bytes, bytes | None]) -> None:
        check_same(case, *given_input)

    run()


# -- fixed inputs ------------------------------------------------------------------------
FIXED = [
    tcp4(b"GET / HTTP/1.1\r\n"),
    udp4(b"dns?", dport=53),
    udp6(b"six"),
    ether(ETH_P_IP, vlan=0x0FFF) + ipv4(udp(), 17),
    ether(0x8100) + b"\x00\x05" + ether(ETH_P_IP, vlan=7)[12:] + ipv4(udp(), 17),
    ether(0x0806) + bytes(28),
    bytes(14),
    ether(ETH_P_IP) + bytes(19),
    ether(0x86DD) + bytes(39),
    bytes(3712),
    bytes(3713),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_fixed_packets(case: Case) -> None:
    ctx = {"zero": bytes(192 if case.kind != "xdp" else 24)}.get(case.ctx)
    if case.ctx in ("skb", "xdp"):
        ctx = None
    for data in FIXED:
        check_same(case, data, ctx)


# -- context access and helper sets -------------------------------------------------------
def _kernel_accepts(kind: str, text: str) -> bool:
    try:
        fd, _, _ = _load_once(encode(assemble(text)), ProgType[kind.upper()], "GPL", 0, 0, "probe")
    except KernelError:
        return False
    close_quietly(fd)
    return True


KINDS = ["socket_filter", "sched_cls", "sched_act", "cgroup_skb", "flow_dissector", "xdp"]


def _accesses(kind: str) -> Iterator[tuple[int, int, bool]]:
    end = 24 if kind == "xdp" else 192
    for off in range(-4, end + 4):
        for size in (1, 2, 4, 8):
            for write in (False, True):
                yield off, size, write


@pytest.mark.parametrize("kind", KINDS)
def test_context_access_rules_match_kernel(kind: str) -> None:
    info = prog_type_info(kind)
    width = {1: "u8", 2: "u16", 4: "u32", 8: "u64"}
    mismatches = []
    for off, size, write in _accesses(kind):
        w = width[size]
        sign = "+" if off >= 0 else "-"
        where = f"(r1 {sign}{abs(off)})"
        text = (
            f"r2 = 0\n*({w} *){where} = r2\nr0 = 0\nexit"
            if write
            else f"r2 = *({w} *){where}\nr0 = 0\nexit"
        )
        try:
            info.access(off, size, write)
            ours = True
        except ContextAccessError:
            ours = False
        if ours != _kernel_accepts(kind, text):
            mismatches.append((off, size, write, ours))
    assert mismatches == []


@pytest.mark.parametrize("kind", KINDS)
def test_helper_sets_match_kernel(kind: str) -> None:
    info = prog_type_info(kind)
    wrong = []
    for helper in HelperId:
        if helper == 0:
            continue
        text = f"call {int(helper)}\nr0 = 0\nexit"
        code = encode(assemble(text))
        try:
            fd, _, _ = _load_once(code, ProgType[kind.upper()], "GPL", 0, 0, "probe")
            close_quietly(fd)
            allowed = True
        except KernelError:
            try:
                _load_once(code, ProgType[kind.upper()], "GPL", 1, 1 << 20, "probe")
                allowed = True
            except KernelError as exc:
                refused = ("unknown func", "cannot use", "not supported", "invalid func")
                allowed = not any(r in exc.log for r in refused)
        if allowed != (int(helper) in info.helpers):
            wrong.append(helper.name)
    assert wrong == []


# -- helper argument grids -----------------------------------------------------------------
def _grid_case(name: str, text: str) -> Case:
    return Case(name, "sched_cls", text, ctx="zero")


def test_adjust_room_grid() -> None:
    text = """
        r6 = r1
        r2 = *(u32 *)(r6 +48)
        r3 = *(u32 *)(r6 +52)
        r4 = *(u64 *)(r6 +56)
        call 50
        *(u32 *)(r6 +64) = r0
        r0 = 0
        exit
    """
    case = _grid_case("grid_adjust_room", text)
    frames = [tcp4(bytes(30)), udp6(bytes(30)), udp4()[:34], ether(0x0806) + bytes(40)]
    diffs = [-100, -40, -20, -1, 0, 1, 8, 4095, 4096]
    flags = [0, 1, 2, 4, 6, 0x12, 0x20, 0x40, 0x80, 0x100, 0x180, 0x0E00000000000042, 1 << 9]
    for frame, diff, mode, flag in itertools.product(frames, diffs, (0, 1, 2), flags):
        ctx = bytearray(192)
        struct.pack_into("<iIQ", ctx, 48, diff, mode, flag)
        check_same(case, frame, bytes(ctx))


def test_csum_diff_grid() -> None:
    text = """
        r6 = r1
        r1 = *(u64 *)(r6 +48)
        *(u64 *)(r10 -16) = r1
        *(u64 *)(r10 -8) = r1
        r1 = *(u64 *)(r6 +56)
        *(u64 *)(r10 -32) = r1
        *(u64 *)(r10 -24) = r1
        r2 = *(u8 *)(r6 +64)
        r2 &= 15
        r4 = *(u8 *)(r6 +65)
        r4 &= 15
        r5 = *(u16 *)(r6 +66)
        r1 = r10
        r1 += -16
        r3 = r10
        r3 += -32
        call 28
        *(u32 *)(r6 +48) = r0
        r0 = 0
        exit
    """
    case = _grid_case("grid_csum_diff", text)
    rnd = random.Random(3)
    words = [0, 2**64 - 1, 0xFFFFFFFF, 1, 0xFFFF0000FFFF0000]
    for _ in range(400):
        a = rnd.choice(words) if rnd.random() < 0.5 else rnd.getrandbits(64)
        b = rnd.choice(words) if rnd.random() < 0.5 else rnd.getrandbits(64)
        ctx = bytearray(192)
        struct.pack_into(
            "<QQBBH",
            ctx,
            48,
            a,
            b,
            rnd.randrange(16),
            rnd.randrange(16),
            rnd.choice([0, 0xFFFF, rnd.getrandbits(16)]),
        )
        check_same(case, udp4(), bytes(ctx))


def test_csum_replace_grid() -> None:
    text = """
        r6 = r1
        r2 = *(u32 *)(r6 +48)
        r3 = *(u32 *)(r6 +52)
        r4 = *(u32 *)(r6 +56)
        r5 = *(u32 *)(r6 +60)
        r7 = *(u32 *)(r6 +64)
        if r7 != 0 goto l4
        call 10
        goto out
    l4:
        call 11
    out:
        *(u32 *)(r6 +48) = r0
        r0 = 0
        exit
    """
    case = _grid_case("grid_csum_replace", text)
    rnd = random.Random(4)
    values = [0, 1, 0xFFFF, 0xFFFE, 0xFFFFFFFF, 0xFFFF0000, 0x10000]
    for _ in range(400):
        frame = bytearray(tcp4(b"abc"))
        frame[24:26] = rnd.choice([0, 0xFFFF, 1, rnd.getrandbits(16)]).to_bytes(2, "little")
        frame[50:52] = rnd.choice([0, 0xFFFF, rnd.getrandbits(16)]).to_bytes(2, "little")
        ctx = bytearray(192)
        off = rnd.choice([24, 50, 25, 0, len(frame) - 1, 0x10000])
        frm = rnd.choice(values) if rnd.random() < 0.5 else rnd.getrandbits(32)
        to = rnd.choice(values) if rnd.random() < 0.5 else rnd.getrandbits(32)
        flags = rnd.choice([0, 2, 4, 1, 3, 0x10, 0x12, 0x14, 0x22, 0x24, 0x64, 0x94, 0x100])
        struct.pack_into("<5I", ctx, 48, off, frm, to, flags, rnd.randrange(2))
        check_same(case, bytes(frame), bytes(ctx))


def test_tail_and_head_grid() -> None:
    text = """
        r6 = r1
        r2 = *(u32 *)(r6 +48)
        r3 = *(u32 *)(r6 +52)
        r7 = *(u32 *)(r6 +56)
        if r7 != 0 goto head
        call 38
        goto out
    head:
        call 43
    out:
        *(u32 *)(r6 +48) = r0
        r0 = *(u32 *)(r6 +0)
        exit
    """
    case = _grid_case("grid_tail_head", text)
    for new_len, flags, which in itertools.product(
        [0, 13, 14, 15, 100, 16064, 16065, 2**32 - 1], [0, 1], [0, 1]
    ):
        ctx = bytearray(192)
        struct.pack_into("<3I", ctx, 48, new_len, flags, which)
        check_same(case, udp4(b"tail"), bytes(ctx))


def test_errno_of_bad_inputs() -> None:
    """Inputs the kernel refuses, across types, give the same errno here."""
    case_by_kind = {c.kind: c for c in reversed(CASES)}
    bad = [
        ("socket_filter", bytes(13), None),
        ("sched_cls", bytes(192 * 20), None),
        ("sched_cls", udp4(), bytes(193) + b"\x01"),
        ("xdp", bytes(13), None),
        ("xdp", udp4(), struct.pack("<6I", 0, 42, 0, 1, 1, 0)),
        ("xdp", bytes(80000), None),
        ("flow_dissector", bytes(5000), None),
        ("cgroup_skb", ether(0x86DD) + bytes(20), bytes(192)),
    ]
    for kind, data, ctx in bad:
        prog = loaded(case_by_kind[kind])
        got, want = outcome_vm(prog, data, ctx), outcome_kernel(prog, data, ctx)
        assert got == want and got[0] == "error", (kind, got, want)
