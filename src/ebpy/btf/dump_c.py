"""BTF as a C header: what ``bpftool btf dump file F format c`` prints.

``dump_c(btf)`` writes every type of a BTF table as C declarations that a
compiler accepts and that give the same layouts, the ``vmlinux.h`` of
BPF CO-RE programs. The text is the one bpftool 7.1 (libbpf 1.1) prints,
byte for byte:

- the ``__VMLINUX_H__`` guard and the ``preserve_access_index`` pragma block
  around everything;
- types in dependency order: for each id in turn, the named types it needs
  embedded (by value) are defined first; a named struct or union only used
  through pointers gets a forward declaration (``struct foo;``) when it is not
  defined yet; typedefs may act as forward declarations as well;
- anonymous structs, unions and enums inlined where they are used, named ones
  referenced by name, and an anonymous enum nothing refers to printed alone;
- declarators built inside out (pointers, arrays of arrays, pointers to
  functions returning pointers to arrays ...), ``const``/``volatile``/
  ``restrict`` in their places, type tags as ``btf_type_tag`` attributes;
- explicit padding as unnamed bitfields and ``__attribute__((packed))``
  where the offsets need them (``ebpy.btf._c_layout``);
- names that clash (two ``struct foo`` of different shapes) suffixed ``___2``,
  ``___3``... in the order they are first printed.

This module prints declarations only: no values (``ebpy.btf.format``), no
raw listing (``ebpy.btf.dump_raw``), and declaration tags, functions, variables
and data sections are not printed, as bpftool 7.1 does not print them.

>>> from ebpy.btf.types import Btf, Int, Ptr, Struct, Member, Typedef
>>> b = Btf([Int(1, "int", size=4, encoding=1, bits=32), Struct(2, "node", size=16,
...     members=(Member("v", 1, 0), Member("next", 3, 64))), Ptr(3, "", type_id=2),
...     Typedef(4, "node_t", type_id=2)])
>>> text = dump_c(b)[len(HEADER) : -len(TRAILER)]
>>> print(text.replace(chr(9), "    ").strip())
struct node {
    int v;
    struct node *next;
};
<BLANKLINE>
typedef struct node node_t;
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ebpy.btf._c_decl import CWriter
from ebpy.btf._c_layout import pointer_size
from ebpy.btf.types import Btf, Kind
from ebpy.errors import BtfError

__all__ = ["HEADER", "TRAILER", "dump_c"]

HEADER = (
    "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n"
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
    "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
    "#endif\n\n"
)
"""What bpftool prints before the first type."""

TRAILER = (
    "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n"
    "#endif /* __VMLINUX_H__ */\n"
)
"""What bpftool prints after the last type."""

_NOT, _BUSY, _DONE = 0, 1, 2  # order and emit states
_RECURSION = 50_000

# Integers a compiler (GCC for Arm SIMD) names but C headers do not define.
_MISSING_ALIASES = {
    "__Poly8_t": "unsigned char",
    "__Poly16_t": "unsigned short",
    "__Poly64_t": "unsigned long long",
    "__Poly128_t": "unsigned __int128",
}
_COMPOSITES = (Kind.STRUCT, Kind.UNION)


def dump_c(btf: Btf) -> str:
    """The C header bpftool prints for ``btf`` (all its ids, base included).

    Raises ``BtfError`` for BTF that cannot be written as C: a type that
    contains itself, a dangling type id, chains that never end.
    """
    dumper = _CDumper(btf)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _RECURSION))
    try:
        for type_id in range(1, len(dumper.types)):
            dumper.dump_type(type_id)
    except RecursionError:
        raise BtfError("type chain too deep to write as C") from None
    finally:
        sys.setrecursionlimit(limit)
    return HEADER + "".join(dumper.out) + TRAILER


def _referenced_ids(t: Any) -> list[int]:
    """The ids a type refers to, for spotting anonymous enums used nowhere
    (a FUNC_PROTO's return type does not count, as in libbpf)."""
    kind = t.kind
    if kind in _COMPOSITES:
        return [m.type_id for m in t.members]
    if kind == Kind.FUNC_PROTO:
        return [p.type_id for p in t.params]
    if kind == Kind.ARRAY:
        return [t.index_type_id, t.type_id]
    if kind == Kind.DATASEC:
        return [v.type_id for v in t.vars]
    type_id = getattr(t, "type_id", None)
    return [] if type_id is None else [type_id]


class _CDumper(CWriter):
    """The state of one dump: per-id order and emit states, and the writer's."""

    def __init__(self, btf: Btf) -> None:
        n = len(btf)
        types: list[Any] = [btf[i] for i in range(n)]
        super().__init__(types, pointer_size(types))
        self.order_state = bytearray(n)
        self.emit_state = bytearray(n)
        self.fwd_emitted = bytearray(n)
        self.referenced = bytearray(n)
        self.chain: set[int] = set()
        self.order_state[0] = self.emit_state[0] = _DONE
        self.queue: list[int] = []
        for t in self.types[1:]:
            for ref in _referenced_ids(t):
                if not 0 <= ref < n:
                    raise BtfError(f"refers to missing type {ref}", type_id=t.id)
                self.referenced[ref] = 1
        k = Kind
        self._orderers: dict[Kind, Callable[[Any, bool], bool]] = {
            k.INT: self._order_scalar,
            k.FLOAT: self._order_scalar,
            k.PTR: self._order_ptr,
            k.ARRAY: self._order_array,
            k.STRUCT: self._order_composite,
            k.UNION: self._order_composite,
            k.ENUM: self._order_enum,
            k.ENUM64: self._order_enum,
            k.FWD: self._order_enum,
            k.TYPEDEF: self._order_typedef,
            k.VOLATILE: self._order_modifier,
            k.CONST: self._order_modifier,
            k.RESTRICT: self._order_modifier,
            k.TYPE_TAG: self._order_modifier,
            k.FUNC_PROTO: self._order_func_proto,
            k.FUNC: self._order_ignored,
            k.VAR: self._order_ignored,
            k.DATASEC: self._order_ignored,
            k.DECL_TAG: self._order_ignored,
        }
        self._emitters: dict[Kind, Callable[[Any, int], None]] = {
            k.INT: self._emit_int,
            k.ENUM: self._emit_enum,
            k.ENUM64: self._emit_enum,
            k.PTR: self._emit_inner,
            k.VOLATILE: self._emit_inner,
            k.CONST: self._emit_inner,
            k.RESTRICT: self._emit_inner,
            k.TYPE_TAG: self._emit_inner,
            k.ARRAY: self._emit_inner,
            k.FWD: self._emit_fwd,
            k.TYPEDEF: self._emit_typedef,
            k.STRUCT: self._emit_composite,
            k.UNION: self._emit_composite,
            k.FUNC_PROTO: self._emit_func_proto,
        }

    def dump_type(self, type_id: int) -> None:
        """Print ``type_id`` and whatever it needs first, unless already printed."""
        self.queue = []
        self._order(type_id, False)
        for queued in self.queue:
            self._emit(queued, 0)

    # -- ordering: which named types must be defined before which ------------

    def _order(self, type_id: int, through_ptr: bool) -> bool:
        """Queue the definitions ``type_id`` needs; True when using it needs
        its definition (a strong link), False when a declaration is enough."""
        state = self.order_state[type_id]
        if state == _DONE:
            return True
        t = self.types[type_id]
        if state == _BUSY:
            if t.kind in _COMPOSITES and through_ptr and t.name:
                return False
            raise BtfError("unsatisfiable type cycle", type_id=type_id)
        orderer = self._orderers.get(t.kind)
        if orderer is None:
            raise BtfError(f"unexpected {t.kind.name} in a type", type_id=type_id)
        # a loop of types that passes through no struct or union never ends
        # (libbpf recurses until it crashes): refuse it
        chain = self.chain
        if t.kind in _COMPOSITES:
            self.chain = set()
            strong = orderer(t, through_ptr)
            self.chain = chain
            return strong
        if type_id in chain:
            raise BtfError("type loop without a struct or union", type_id=type_id)
        chain.add(type_id)
        strong = orderer(t, through_ptr)
        chain.discard(type_id)
        return strong

    def _order_scalar(self, t: Any, through_ptr: bool) -> bool:
        self.order_state[t.id] = _DONE
        return False

    def _order_ignored(self, t: Any, through_ptr: bool) -> bool:
        self.order_state[t.id] = _DONE
        return False

    def _order_ptr(self, t: Any, through_ptr: bool) -> bool:
        strong = self._order(t.type_id, True)
        self.order_state[t.id] = _DONE
        return strong

    def _order_array(self, t: Any, through_ptr: bool) -> bool:
        return self._order(t.type_id, False)

    def _order_modifier(self, t: Any, through_ptr: bool) -> bool:
        return self._order(t.type_id, through_ptr)

    def _order_composite(self, t: Any, through_ptr: bool) -> bool:
        if through_ptr and t.name:
            return False
        self.order_state[t.id] = _BUSY
        for m in t.members:
            self._order(m.type_id, False)
        if t.name:
            self.queue.append(t.id)
        self.order_state[t.id] = _DONE
        return True

    def _order_enum(self, t: Any, through_ptr: bool) -> bool:
        if t.name or not self.referenced[t.id]:
            self.queue.append(t.id)
        self.order_state[t.id] = _DONE
        return True

    def _order_typedef(self, t: Any, through_ptr: bool) -> bool:
        strong = self._order(t.type_id, through_ptr)
        if through_ptr and not strong:
            return False
        self.queue.append(t.id)
        self.order_state[t.id] = _DONE
        return True

    def _order_func_proto(self, t: Any, through_ptr: bool) -> bool:
        strong = self._order(t.type_id, through_ptr)
        for p in t.params:
            if self._order(p.type_id, through_ptr):
                strong = True
        return strong

    # -- emitting: top-level definitions and forward declarations -----------

    def _emit(self, type_id: int, cont_id: int) -> None:
        """Print what ``type_id`` needs, and its definition when top-level
        (``cont_id`` 0); ``cont_id`` is the named struct being defined."""
        state = self.emit_state[type_id]
        if state == _DONE:
            return
        t = self.types[type_id]
        if state == _BUSY:
            self._emit_busy(t, cont_id)
            return
        emitter = self._emitters.get(t.kind)
        if emitter is not None:
            emitter(t, cont_id)

    def _emit_busy(self, t: Any, cont_id: int) -> None:
        """A type met again while being printed: a forward declaration breaks
        the loop (none is needed inside the struct's own definition)."""
        if self.fwd_emitted[t.id]:
            return
        if t.kind in _COMPOSITES:
            if t.id == cont_id or not t.name:
                return
            self.composite_fwd(t)
        elif t.kind == Kind.TYPEDEF:
            if t.name != "__builtin_va_list":
                self.typedef_def(t, 0)
        else:
            return
        self.out.append(";\n\n")
        self.fwd_emitted[t.id] = 1

    def _emit_int(self, t: Any, cont_id: int) -> None:
        alias = _MISSING_ALIASES.get(self.type_name(t))
        if alias is not None:
            self.out.append(f"typedef {alias} {self.type_name(t)};\n\n")
        self.emit_state[t.id] = _DONE

    def _emit_enum(self, t: Any, cont_id: int) -> None:
        if cont_id == 0:
            self.enum_def(t, 0)
            self.out.append(";\n\n")
        self.emit_state[t.id] = _DONE

    def _emit_inner(self, t: Any, cont_id: int) -> None:
        self._emit(t.type_id, cont_id)

    def _emit_fwd(self, t: Any, cont_id: int) -> None:
        self.out.append(f"{'union' if t.union else 'struct'} {self.type_name(t)};\n\n")
        self.emit_state[t.id] = _DONE

    def _emit_typedef(self, t: Any, cont_id: int) -> None:
        self.emit_state[t.id] = _BUSY
        self._emit(t.type_id, t.id)
        if not self.fwd_emitted[t.id] and t.name != "__builtin_va_list":
            self.typedef_def(t, 0)
            self.out.append(";\n\n")
        self.emit_state[t.id] = _DONE

    def _emit_composite(self, t: Any, cont_id: int) -> None:
        self.emit_state[t.id] = _BUSY
        top = cont_id == 0
        if top or not t.name:
            inner = t.id if t.name else cont_id
            for m in t.members:
                self._emit(m.type_id, inner)
        elif not self.fwd_emitted[t.id] and t.id != cont_id:
            self.composite_fwd(t)
            self.out.append(";\n\n")
            self.fwd_emitted[t.id] = 1
        if top:
            self.composite_def(t, 0)
            self.out.append(";\n\n")
            self.emit_state[t.id] = _DONE
        else:
            self.emit_state[t.id] = _NOT

    def _emit_func_proto(self, t: Any, cont_id: int) -> None:
        self._emit(t.type_id, cont_id)
        for p in t.params:
            self._emit(p.type_id, cont_id)
