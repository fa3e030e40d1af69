"""Resolve a program's references to maps: the values ``lddw`` gives at run time.

``lddw rX, map[idx:N]`` (``BPF_PSEUDO_MAP_IDX``) names ``maps[N]``;
``map[id:N]`` (``BPF_PSEUDO_MAP_FD``) the map whose ``id`` is N; the ``_VALUE``
forms add an offset into the map's value area (global data). The result is the
map's pointer (``slot << 32``) or value address, as the map helpers expect. Not
the ELF relocation pass (that names maps; this gives them addresses).
"""

from __future__ import annotations

from collections.abc import Sequence

from ebpy.errors import InvalidInstructionError
from ebpy.isa._intmath import M32
from ebpy.isa.instruction import Instruction
from ebpy.isa.opcodes import PseudoSrc
from ebpy.maps.base import Map
from ebpy.memory import SLOT_SHIFT


class MapResolver:
    """``PseudoResolver`` over a list of maps.

    >>> from ebpy.maps import create_map, MapSpec
    >>> from ebpy.uapi import MapType
    >>> m = create_map(MapSpec(MapType.ARRAY, 4, 8, 1))
    >>> from ebpy.isa.asm import assemble
    >>> MapResolver([m])(0, assemble("r1 = map[idx:0]")[0]) == m.slot << 32
    True
    """

    def __init__(self, maps: Sequence[Map]) -> None:
        self.maps = list(maps)
        self.by_id = {m.id: m for m in self.maps}

    def _find(self, pc: int, insn: Instruction, ref: int, by_index: bool) -> Map:
        m = None
        if by_index:
            if 0 <= ref < len(self.maps):
                m = self.maps[ref]
        else:
            m = self.by_id.get(ref)
        if m is None:
            kind = "index" if by_index else "id"
            raise InvalidInstructionError(pc, insn.op, f"lddw refers to no map ({kind} {ref})")
        return m

    def __call__(self, pc: int, insn: Instruction) -> int:
        ref, offset = insn.imm & M32, insn.imm >> 32
        src = insn.src
        by_index = src in (PseudoSrc.MAP_IDX, PseudoSrc.MAP_IDX_VALUE)
        if src not in (
            PseudoSrc.MAP_FD,
            PseudoSrc.MAP_IDX,
            PseudoSrc.MAP_VALUE,
            PseudoSrc.MAP_IDX_VALUE,
        ):
            raise InvalidInstructionError(
                pc, insn.op, f"lddw with {PseudoSrc(src).name} cannot run in userspace"
            )
        m = self._find(pc, insn, ref, by_index)
        base = m.slot << SLOT_SHIFT
        if src in (PseudoSrc.MAP_FD, PseudoSrc.MAP_IDX):
            return base
        if offset >= len(m.buf):
            raise InvalidInstructionError(
                pc, insn.op, f"offset {offset} is outside the values of map {m.name or m.id}"
            )
        return base + offset
