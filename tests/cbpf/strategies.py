"""Hypothesis strategies for classic BPF programs and packets, shared by the cbpf tests.

``programs()`` draws programs the kernel accepts: forward jumps that stay
inside, a ``ret`` at the end, packet loads at small offsets (also past short
packets, at ``SKF_NET_OFF``/``SKF_LL_OFF`` and below), ALU operations with
constant and ``X`` operands, scratch memory that is stored before it is loaded
(tracked as the kernel's ``check_load_and_stores`` does) and, when asked,
ancillary loads. ``raw_programs()`` draws anything, valid or not, for the
validators. ``packets()`` draws short byte strings and Ethernet-like frames.
This module generates values; it asserts nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from hypothesis import strategies as st

from ebpy.cbpf.isa import (
    BPF_A,
    BPF_ABS,
    BPF_ADD,
    BPF_ALU,
    BPF_AND,
    BPF_B,
    BPF_DIV,
    BPF_H,
    BPF_IMM,
    BPF_IND,
    BPF_JA,
    BPF_JEQ,
    BPF_JGE,
    BPF_JGT,
    BPF_JMP,
    BPF_JSET,
    BPF_K,
    BPF_LD,
    BPF_LDX,
    BPF_LEN,
    BPF_LSH,
    BPF_MEM,
    BPF_MISC,
    BPF_MOD,
    BPF_MSH,
    BPF_MUL,
    BPF_NEG,
    BPF_OR,
    BPF_RET,
    BPF_RSH,
    BPF_ST,
    BPF_STX,
    BPF_SUB,
    BPF_TAX,
    BPF_TXA,
    BPF_W,
    BPF_X,
    BPF_XOR,
    SKF_AD,
    SKF_AD_OFF,
    SKF_LL_OFF,
    SKF_NET_OFF,
    Insn,
)

M32 = 0xFFFF_FFFF
U32 = st.one_of(
    st.integers(0, 16),
    st.sampled_from([0x7FFF_FFFF, 0x8000_0000, M32, 0xFFFF, 0x800, 0x86DD, 255]),
    st.integers(0, M32),
)
SMALL_OFF = st.integers(0, 72)
RET_K = st.one_of(st.integers(0, 80), st.sampled_from([0xFFFF, 0x40000, M32]), U32)
ALU_OPS = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_MOD, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH]
CONDS = [BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET]
SIZES = [BPF_W, BPF_H, BPF_B]

ANCILLARY_ALL = tuple(SKF_AD)
"""Every ancillary load the kernel knows."""
ANCILLARY_EBPF = tuple(
    n for n in SKF_AD if n not in ("hatype", "nlattr", "nlattr_nest", "pay_offset", "random")
)
"""Ancillary loads ``to_ebpf`` translates, without ``random`` (not reproducible)."""
ANCILLARY_UNIX = tuple(n for n in SKF_AD if n != "random")
"""Ancillary loads with a known value on an ``AF_UNIX`` datagram."""


def _abs_offset(draw: st.DrawFn, ancillary: Iterable[str]) -> int:
    names = list(ancillary)
    choices = ["small", "small", "small", "net", "ll", "far"] + (["anc"] * 2 if names else [])
    kind = draw(st.sampled_from(choices))
    if kind == "small":
        return draw(SMALL_OFF)
    if kind == "net":
        return (SKF_NET_OFF + draw(st.integers(-2, 40))) & M32
    if kind == "ll":
        return (SKF_LL_OFF + draw(st.integers(-2, 40))) & M32
    if kind == "far":
        return draw(st.sampled_from([1000, 0x7FFF_FFFF, 0x8000_0000, (SKF_LL_OFF - 8) & M32]))
    return (SKF_AD_OFF + SKF_AD[draw(st.sampled_from(names))]) & M32


@st.composite
def programs(
    draw: st.DrawFn,
    *,
    max_len: int = 24,
    ancillary: Iterable[str] = (),
    memory: bool = True,
) -> list[Insn]:
    """A classic program that the kernel's ``bpf_check_classic`` accepts."""
    anc = tuple(ancillary)
    n = draw(st.integers(1, max_len))
    masks = [0xFFFF] * n
    valid = 0
    out: list[Insn] = []
    for pc in range(n):
        valid &= masks[pc]
        room = n - pc - 2  # the furthest a jump from here may go
        if pc == n - 1:
            out.append(_ret(draw))
            break
        kinds = ["ld", "ld", "ldi", "alu", "alu", "misc", "ret"]
        if memory:
            kinds += ["st"] + (["ldm"] if valid else [])
        if room >= 0:
            kinds += ["jmp", "jmp", "ja"]
        kind = draw(st.sampled_from(kinds))
        insn = _draw_insn(draw, kind, valid, room, anc)
        out.append(insn)
        if insn.code in (BPF_ST, BPF_STX):
            valid |= 1 << insn.k
        elif insn.code == BPF_JMP | BPF_JA:
            masks[pc + 1 + insn.k] &= valid
            valid = 0xFFFF
        elif insn.code & 0x07 == BPF_JMP:
            masks[pc + 1 + insn.jt] &= valid
            masks[pc + 1 + insn.jf] &= valid
            valid = 0xFFFF
    return out


def _ret(draw: st.DrawFn) -> Insn:
    if draw(st.booleans()):
        return Insn(BPF_RET | BPF_A)
    return Insn(BPF_RET | BPF_K, 0, 0, draw(RET_K))


def _draw_insn(draw: st.DrawFn, kind: str, valid: int, room: int, anc: tuple[str, ...]) -> Insn:
    if kind == "ret":
        return _ret(draw)
    if kind == "ld":
        which = draw(st.sampled_from(["abs", "abs", "ind", "msh", "len"]))
        size = draw(st.sampled_from(SIZES))
        if which == "abs":
            return Insn(BPF_LD | size | BPF_ABS, 0, 0, _abs_offset(draw, anc))
        if which == "ind":
            k = draw(st.one_of(SMALL_OFF, st.sampled_from([M32, 0xFFF0_0000, 0x8000_0000])))
            return Insn(BPF_LD | size | BPF_IND, 0, 0, k)
        if which == "msh":
            return Insn(BPF_LDX | BPF_MSH | BPF_B, 0, 0, draw(st.integers(0, 40)))
        return Insn(draw(st.sampled_from([BPF_LD, BPF_LDX])) | BPF_W | BPF_LEN)
    if kind == "ldi":
        cls = draw(st.sampled_from([BPF_LD, BPF_LDX]))
        return Insn(cls | BPF_IMM, 0, 0, draw(U32))
    if kind == "alu":
        op = draw(st.sampled_from(ALU_OPS))
        if draw(st.booleans()):
            return Insn(BPF_ALU | op | BPF_X)
        k = draw(U32)
        if op in (BPF_DIV, BPF_MOD):
            k = k or 1
        if op in (BPF_LSH, BPF_RSH):
            k &= 31
        return Insn(BPF_ALU | op | BPF_K, 0, 0, k)
    if kind == "misc":
        return Insn(
            draw(st.sampled_from([BPF_ALU | BPF_NEG, BPF_MISC | BPF_TAX, BPF_MISC | BPF_TXA]))
        )
    if kind == "st":
        return Insn(draw(st.sampled_from([BPF_ST, BPF_STX])), 0, 0, draw(st.integers(0, 15)))
    if kind == "ldm":
        slots = [k for k in range(16) if valid >> k & 1]
        return Insn(
            draw(st.sampled_from([BPF_LD, BPF_LDX])) | BPF_MEM, 0, 0, draw(st.sampled_from(slots))
        )
    reach = st.integers(0, min(room, 255))
    if kind == "ja":
        return Insn(BPF_JMP | BPF_JA, 0, 0, draw(st.integers(0, room)))
    code = BPF_JMP | draw(st.sampled_from(CONDS)) | draw(st.sampled_from([BPF_K, BPF_X]))
    k = draw(U32) if not code & BPF_X else 0
    return Insn(code, draw(reach), draw(reach), k)


INTERESTING_CODES = [
    *(BPF_LD | s | m for s in (*SIZES, 0x18) for m in (BPF_IMM, BPF_ABS, BPF_IND, BPF_MEM, BPF_LEN, BPF_MSH, 0xC0)),
    *(BPF_LDX | s | m for s in SIZES for m in (BPF_IMM, BPF_MEM, BPF_LEN, BPF_MSH)),
    BPF_ST, BPF_STX, BPF_ST | 0x60, BPF_STX | 0x60,
    *(BPF_ALU | op | src for op in range(0, 0x100, 0x10) for src in (BPF_K, BPF_X)),
    *(BPF_JMP | op | src for op in range(0, 0x100, 0x10) for src in (BPF_K, BPF_X)),
    BPF_RET | BPF_K, BPF_RET | BPF_A, BPF_RET | BPF_X, BPF_RET | 0x18,
    *(BPF_MISC | op for op in (BPF_TAX, BPF_TXA, 0x08, 0x40)),
]  # fmt: skip
"""Codes near the valid ones: every class, mode, size and operation combination."""


@st.composite
def raw_programs(draw: st.DrawFn, *, max_len: int = 12) -> list[Insn]:
    """Any program: valid ones with one field changed, or instructions drawn freely."""
    if draw(st.booleans()):
        prog = draw(programs(max_len=max_len, ancillary=ANCILLARY_ALL))
        pc = draw(st.integers(0, len(prog) - 1))
        old = prog[pc]
        field = draw(st.sampled_from(["code", "jt", "jf", "k", "drop", "append"]))
        if field == "drop":
            return prog[:pc] + prog[pc + 1 :]
        if field == "append":
            return [*prog, draw(_free_insn())]
        value = {
            "code": draw(st.sampled_from(INTERESTING_CODES)),
            "jt": draw(st.integers(0, 255)),
            "jf": draw(st.integers(0, 255)),
            "k": draw(st.one_of(U32, st.integers(0, 40), st.integers(SKF_AD_OFF & M32, M32))),
        }[field]
        fields = {"code": old.code, "jt": old.jt, "jf": old.jf, "k": old.k, field: value}
        prog[pc] = Insn(**fields)
        return prog
    return draw(st.lists(_free_insn(), min_size=0, max_size=max_len))


def _free_insn() -> st.SearchStrategy[Insn]:
    return st.builds(
        Insn,
        st.one_of(st.sampled_from(INTERESTING_CODES), st.integers(0, 0xFFFF)),
        st.integers(0, 8) | st.integers(0, 255),
        st.integers(0, 8) | st.integers(0, 255),
        st.one_of(st.integers(0, 20), U32, st.integers(SKF_AD_OFF & M32, M32)),
    )


def packets(*, max_size: int = 96) -> st.SearchStrategy[bytes]:
    """Short byte strings, some empty, some shaped like Ethernet/IPv4 frames."""
    frame = st.builds(
        lambda mac, et, rest: mac + et + rest,
        st.binary(min_size=12, max_size=12),
        st.sampled_from([b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x08\x06", b"\x00\x10"]),
        st.binary(min_size=0, max_size=max_size - 14),
    )
    return st.one_of(st.binary(min_size=0, max_size=max_size), frame)
