"""Check classic programs as the Linux kernel (``SO_ATTACH_FILTER``) or libpcap would.

``validate(insns)`` raises ``CbpfError(reason, pc)`` for a program the kernel
refuses with ``EINVAL``, by the rules of its ``bpf_check_classic``:

- 1 to 4096 instructions (``pc`` None otherwise);
- only the codes ``chk_code_allowed`` lists (exact 16-bit codes: ``ld #k`` is
  0x00 only, no ``ret x``, no ``ldx`` of a size other than its own ...);
- no division or modulo by a constant 0, no shift by a constant of 32 or more;
- scratch memory ``M[k]`` with ``k < 16``;
- jumps inside the program (``ja`` with an unsigned ``k``: forward only);
- ``ld``/``ldh``/``ldb [k]`` at ``SKF_AD_OFF`` or above only for the ancillary
  loads the kernel knows;
- the last instruction a ``ret #k`` or ``ret a``;
- no load of ``M[k]`` before a store to it, as ``check_load_and_stores`` sees
  it: one pass in program order in which a jump's targets keep only the slots
  stored on every jump to them, and a ``ret`` does not reset what is known.

The first failing instruction is reported, in the kernel's order (the
instruction rules, then the final ``ret``, then scratch memory).
``validate(insns, linux=False)`` applies libpcap 1.10's ``bpf_validate``
instead, which looks at the class and mode bits only: any length of at
least 1, loads of a known mode, ``M[k]`` below 16, ALU operations that exist
with no constant division or modulo by 0, jumps of a known kind inside the
program (``ja``'s target computed in 32 bits), and a last instruction of class
``ret``. This module checks only; running is ``ebpy.cbpf.interp``'s job.

>>> from ebpy.cbpf.asm import assemble
>>> validate(assemble("ld M[0]\\nret a"))
Traceback (most recent call last):
...
ebpy.errors.CbpfError: insn 0: M[0] is loaded before it is stored
>>> validate(assemble("ld M[0]\\nret a"), linux=False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ebpy.cbpf._codegen import KNOWN_CODES
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
    BPF_MAXINSNS,
    BPF_MEM,
    BPF_MEMWORDS,
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
    BPF_W,
    BPF_X,
    BPF_XOR,
    COND_JUMPS,
    SKF_AD_OFF,
    Insn,
    ancillary,
)
from ebpy.errors import CbpfError
from ebpy.isa._intmath import M32

__all__ = ["LINUX_CODES", "validate"]

LINUX_CODES = KNOWN_CODES
"""The codes ``chk_code_allowed`` lets through (the same set libpcap's ``bpf_filter`` runs)."""

_MEM_CODES = frozenset({BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM, BPF_ST, BPF_STX})
_ABS_CODES = frozenset({BPF_LD | size | BPF_ABS for size in (BPF_W, BPF_H, BPF_B)})

# -- Linux: bpf_check_classic ---------------------------------------------------------------

_Check = Callable[[Insn, int, int], "str | None"]
"""(insn, pc, program length) -> why it is refused, or None."""


def _nonzero(insn: Insn, pc: int, n: int) -> str | None:
    return "division by constant 0" if insn.k == 0 else None


def _shift(insn: Insn, pc: int, n: int) -> str | None:
    return f"shift by {insn.k} (32 or more)" if insn.k >= 32 else None


def _memword(insn: Insn, pc: int, n: int) -> str | None:
    return f"scratch memory M[{insn.k}] does not exist" if insn.k >= BPF_MEMWORDS else None


def _ja(insn: Insn, pc: int, n: int) -> str | None:
    return f"ja +{insn.k} leaves the program" if insn.k >= n - pc - 1 else None


def _cond(insn: Insn, pc: int, n: int) -> str | None:
    if pc + insn.jt + 1 >= n or pc + insn.jf + 1 >= n:
        return f"jump (jt {insn.jt}, jf {insn.jf}) leaves the program"
    return None


def _abs(insn: Insn, pc: int, n: int) -> str | None:
    if insn.k >= SKF_AD_OFF & M32 and ancillary(insn.k) is None:
        return f"unknown ancillary load at SKF_AD_OFF + {insn.k - (SKF_AD_OFF & M32)}"
    return None


_LINUX_CHECKS: dict[int, _Check] = {
    BPF_ALU | BPF_DIV | BPF_K: _nonzero,
    BPF_ALU | BPF_MOD | BPF_K: _nonzero,
    BPF_ALU | BPF_LSH | BPF_K: _shift,
    BPF_ALU | BPF_RSH | BPF_K: _shift,
    BPF_JMP | BPF_JA: _ja,
    **dict.fromkeys(_MEM_CODES, _memword),
    **dict.fromkeys(COND_JUMPS, _cond),
    **dict.fromkeys(_ABS_CODES, _abs),
}
"""The instruction-specific checks of ``bpf_check_classic``, by code."""


def _check_memory(insns: Sequence[Insn]) -> None:
    """``check_load_and_stores``: no ``M[k]`` load before a store on the way to it."""
    n = len(insns)
    masks = [0xFFFF] * n
    valid = 0
    for pc, insn in enumerate(insns):
        valid &= masks[pc]
        code = insn.code
        if code in (BPF_ST, BPF_STX):
            valid |= 1 << insn.k
        elif code in (BPF_LD | BPF_MEM, BPF_LDX | BPF_MEM):
            if not valid >> insn.k & 1:
                raise CbpfError(f"M[{insn.k}] is loaded before it is stored", pc)
        elif code == BPF_JMP | BPF_JA:
            masks[pc + 1 + insn.k] &= valid
            valid = 0xFFFF
        elif code in COND_JUMPS:
            masks[pc + 1 + insn.jt] &= valid
            masks[pc + 1 + insn.jf] &= valid
            valid = 0xFFFF


def _validate_linux(insns: Sequence[Insn]) -> None:
    n = len(insns)
    if not 1 <= n <= BPF_MAXINSNS:
        raise CbpfError(f"{n} instructions (the kernel takes 1 to {BPF_MAXINSNS})")
    for pc, insn in enumerate(insns):
        if insn.code not in LINUX_CODES:
            raise CbpfError(f"opcode {insn.code:#x} is not allowed", pc)
        check = _LINUX_CHECKS.get(insn.code)
        reason = check(insn, pc, n) if check is not None else None
        if reason is not None:
            raise CbpfError(reason, pc)
    if insns[-1].code not in (BPF_RET | BPF_K, BPF_RET | BPF_A):
        raise CbpfError("the last instruction is not ret #k or ret a", n - 1)
    _check_memory(insns)


# -- libpcap: bpf_validate ------------------------------------------------------------------

_PCAP_LOAD_MODES = frozenset({BPF_IMM, BPF_ABS, BPF_IND, BPF_MSH, BPF_LEN, BPF_MEM})
_PCAP_ALU_OPS = frozenset(
    {BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_XOR, BPF_LSH, BPF_RSH, BPF_NEG}
)


def _pcap_load(insn: Insn, pc: int, n: int) -> str | None:
    mode = insn.code & 0xE0
    if mode not in _PCAP_LOAD_MODES:
        return f"load mode {mode:#x} does not exist"
    return _memword(insn, pc, n) if mode == BPF_MEM else None


def _pcap_alu(insn: Insn, pc: int, n: int) -> str | None:
    op = insn.code & 0xF0
    if op in (BPF_DIV, BPF_MOD):
        return "division by constant 0" if insn.code & BPF_X == BPF_K and insn.k == 0 else None
    return None if op in _PCAP_ALU_OPS else f"ALU operation {op:#x} does not exist"


def _pcap_jmp(insn: Insn, pc: int, n: int) -> str | None:
    op = insn.code & 0xF0
    if op == BPF_JA:
        return f"ja +{insn.k} leaves the program" if (pc + 1 + insn.k) & M32 >= n else None
    if op in (BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET):
        return _cond(insn, pc, n)
    return f"jump operation {op:#x} does not exist"


def _fine(insn: Insn, pc: int, n: int) -> str | None:
    return None


_PCAP_CHECKS: dict[int, _Check] = {
    BPF_LD: _pcap_load,
    BPF_LDX: _pcap_load,
    BPF_ST: _memword,
    BPF_STX: _memword,
    BPF_ALU: _pcap_alu,
    BPF_JMP: _pcap_jmp,
    BPF_RET: _fine,
    BPF_MISC: _fine,
}
"""``bpf_validate``'s checks, by instruction class."""


def _validate_pcap(insns: Sequence[Insn]) -> None:
    n = len(insns)
    if n < 1:
        raise CbpfError("an empty program")
    for pc, insn in enumerate(insns):
        reason = _PCAP_CHECKS[insn.code & 0x07](insn, pc, n)
        if reason is not None:
            raise CbpfError(reason, pc)
    if insns[-1].code & 0x07 != BPF_RET:
        raise CbpfError("the last instruction is not a ret", n - 1)


def validate(insns: Sequence[Insn], *, linux: bool = True) -> None:
    """Raise ``CbpfError`` unless the kernel (or, ``linux=False``, libpcap) accepts ``insns``."""
    if linux:
        _validate_linux(insns)
    else:
        _validate_pcap(insns)
