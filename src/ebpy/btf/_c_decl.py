"""How one BTF type is written as C: definitions, declarators and names.

``ebpy.btf.dump_c`` decides which types are printed and in what order; this
module writes them, as libbpf's BTF dumper (bpftool 7.1) does:

- struct and union definitions with their members, the unnamed bitfields that
  pad gaps and ``__attribute__((packed))`` (``ebpy.btf._c_layout`` says
  where), enum definitions (``= 4294967295``, ``= -5LL``, ``= 1ULL``) and
  typedefs;
- declarators, from the innermost type out: ``const char * const *l[2]``,
  ``int (*b[4])(void)``, ``void (* (*c)(int))(long)``; an anonymous struct,
  union or enum is defined in place; const/volatile on an array or a
  function are dropped (GCC adds them, C cannot say them);
- names: struct, union and enum tags share one namespace and typedefs and
  enumerators another; a name met again for another type gets ``___2``,
  ``___3`` ... in the order names are first printed.

Output goes to ``CWriter.out``, a list of strings. Nothing here orders types
or prints what a type depends on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ebpy.btf._c_layout import align_of, is_packed, padding, resolve_size
from ebpy.btf.types import Kind
from ebpy.errors import BtfError

__all__ = ["CWriter"]

_MAX_DECL = 4096
_QUALIFIERS = {Kind.VOLATILE: "volatile", Kind.CONST: "const", Kind.RESTRICT: "restrict"}
_MODS = (Kind.VOLATILE, Kind.CONST, Kind.RESTRICT, Kind.TYPE_TAG)
_DECL_LINKS = (
    Kind.PTR,
    Kind.VOLATILE,
    Kind.CONST,
    Kind.RESTRICT,
    Kind.FUNC_PROTO,
    Kind.TYPE_TAG,
    Kind.ARRAY,
)


class CWriter:
    """Writes types of ``types`` (indexed by id) as C into ``out``."""

    def __init__(self, types: list[Any], ptr_size: int) -> None:
        self.types = types
        self.ptr_size = ptr_size
        self.out: list[str] = []
        self.names: dict[int, str] = {}
        self.type_names: dict[str, int] = {}
        self.ident_names: dict[str, int] = {}
        k = Kind
        self._chain_steps: dict[Kind, Callable[[Any, list[int], str, int, bool], bool]] = {
            k.INT: self._chain_named,
            k.FLOAT: self._chain_named,
            k.STRUCT: self._chain_composite,
            k.UNION: self._chain_composite,
            k.ENUM: self._chain_enum,
            k.ENUM64: self._chain_enum,
            k.FWD: self._chain_fwd,
            k.TYPEDEF: self._chain_typedef,
            k.PTR: self._chain_ptr,
            k.VOLATILE: self._chain_qualifier,
            k.CONST: self._chain_qualifier,
            k.RESTRICT: self._chain_qualifier,
            k.TYPE_TAG: self._chain_type_tag,
            k.ARRAY: self._chain_array,
            k.FUNC_PROTO: self._chain_func_proto,
        }

    # -- names ----------------------------------------------------------------

    def _resolve_name(self, t: Any, table: dict[str, int]) -> str:
        name: str = t.name
        if not name:
            return ""
        cached = self.names.get(t.id)
        if cached is not None:
            return cached
        if t.kind == Kind.FWD or (t.kind == Kind.ENUM and not t.values):
            self.names[t.id] = name
            return name
        count = table.get(name, 0) + 1
        table[name] = count
        resolved = name if count == 1 else f"{name}___{count}"
        self.names[t.id] = resolved
        return resolved

    def type_name(self, t: Any) -> str:
        """The tag of a struct/union/enum (or an int's name), deduplicated."""
        return self._resolve_name(t, self.type_names)

    def ident_name(self, t: Any) -> str:
        """A typedef's name, deduplicated against typedefs and enumerators."""
        return self._resolve_name(t, self.ident_names)

    # -- definitions ------------------------------------------------------------

    def composite_fwd(self, t: Any) -> None:
        """``struct foo`` / ``union bar`` (anonymous: just the keyword)."""
        word = "struct" if t.kind == Kind.STRUCT else "union"
        self.out.append(f"{word}{' ' if t.name else ''}{self.type_name(t)}")

    def composite_def(self, t: Any, lvl: int) -> None:
        """A struct or union with its members, indented for nesting level ``lvl``."""
        types, ptr_size, out = self.types, self.ptr_size, self.out
        is_struct = t.kind == Kind.STRUCT
        align = align_of(types, t.id, ptr_size)
        packed = is_struct and is_packed(types, t, ptr_size)
        word = "struct" if is_struct else "union"
        out.append(f"{word}{' ' if t.name else ''}{self.type_name(t)} {{")
        indent = _indent(lvl + 1)
        off = 0
        prev_bitfield = False
        for m in t.members:
            bits, m_off = m.bitfield_size, m.bit_offset
            m_align = 1 if packed else align_of(types, m.type_id, ptr_size)
            self._padding(off, m_off, m_align, prev_bitfield and bits != 0, indent)
            out.append(f"\n{indent}")
            self.decl(m.type_id, m.name, lvl + 1)
            if bits:
                out.append(f": {bits}")
                off = m_off + bits
                prev_bitfield = True
            else:
                off = m_off + max(0, resolve_size(types, m.type_id, ptr_size)) * 8
                prev_bitfield = False
            out.append(";")
        if is_struct:
            self._padding(off, t.size * 8, align, False, indent)
        if t.members or t.size:
            out.append(f"\n{_indent(lvl)}}}")
        else:
            out.append("}")
        if packed:
            out.append(" __attribute__((packed))")

    def _padding(self, cur: int, nxt: int, align: int, in_bitfield: bool, indent: str) -> None:
        for pad_type, bits in padding(cur, nxt, align, in_bitfield, self.ptr_size):
            self.out.append(f"\n{indent}{pad_type}: {bits};")

    def enum_def(self, t: Any, lvl: int) -> None:
        """An enum with its values (a valueless one as ``enum foo``)."""
        out = self.out
        out.append(f"enum{' ' if t.name else ''}{self.type_name(t)}")
        if not t.values:
            return
        out.append(" {")
        indent = _indent(lvl + 1)
        wide = t.kind == Kind.ENUM64
        bits = 64 if wide else 32
        suffix = ("LL" if t.signed else "ULL") if wide else ""
        for v in t.values:
            value = v.value & ((1 << bits) - 1)
            if t.signed and value >> (bits - 1):
                value -= 1 << bits
            count = self.ident_names.get(v.name, 0) + 1
            self.ident_names[v.name] = count
            name = v.name if count == 1 else f"{v.name}___{count}"
            out.append(f"\n{indent}{name} = {value}{suffix},")
        out.append(f"\n{_indent(lvl)}}}")

    def typedef_def(self, t: Any, lvl: int) -> None:
        """``typedef <type> name`` (without the ``;``)."""
        name = self.ident_name(t)
        if t.type_id == 0 and name == "__gnuc_va_list":
            self.out.append("typedef __builtin_va_list __gnuc_va_list")
            return
        self.out.append("typedef ")
        self.decl(t.type_id, name, lvl)

    # -- declarators: `int (*name[4])(void)` ------------------------------------

    def decl(self, type_id: int, fname: str, lvl: int) -> None:
        """Print a declaration of ``fname`` with type ``type_id``."""
        types = self.types
        decls = [type_id]
        while type_id:
            t = types[type_id]
            if t.kind not in _DECL_LINKS:
                break
            type_id = t.type_id
            decls.append(type_id)
            if len(decls) > _MAX_DECL:
                raise BtfError("declaration chain too long (a loop?)", type_id=decls[0])
        self._chain(decls, fname, lvl)

    def _chain(self, decls: list[int], fname: str, lvl: int) -> None:
        """Print the declarator stack ``decls`` (innermost type on top) around
        ``fname``, consuming it."""
        last_was_ptr = True
        types, steps = self.types, self._chain_steps
        while decls:
            type_id = decls.pop()
            if type_id == 0:
                self._qualifiers(decls)
                self.out.append("void")
                last_was_ptr = False
                continue
            t = types[type_id]
            step = steps.get(t.kind)
            if step is None or step(t, decls, fname, lvl, last_was_ptr):
                return
            last_was_ptr = t.kind == Kind.PTR
        self._name(fname, last_was_ptr)

    def _name(self, fname: str, last_was_ptr: bool) -> None:
        self.out.append(f" {fname}" if fname and not last_was_ptr else fname)

    def _qualifiers(self, decls: list[int]) -> None:
        """Print the const/volatile/restrict right above a base type, before it."""
        types = self.types
        while decls:
            word = _QUALIFIERS.get(types[decls[-1]].kind)
            if word is None:
                return
            self.out.append(f"{word} ")
            decls.pop()

    def _drop_modifiers(self, decls: list[int]) -> None:
        types = self.types
        while decls and types[decls[-1]].kind in _MODS:
            decls.pop()

    def _chain_named(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self._qualifiers(decls)
        self.out.append(t.name)
        return False

    def _chain_composite(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self._qualifiers(decls)
        if t.name:
            self.composite_fwd(t)
        else:
            self.composite_def(t, lvl)
        return False

    def _chain_enum(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self._qualifiers(decls)
        if t.name:
            self.out.append(f"enum {self.type_name(t)}")
        else:
            self.enum_def(t, lvl)
        return False

    def _chain_fwd(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self._qualifiers(decls)
        self.out.append(f"{'union' if t.union else 'struct'} {self.type_name(t)}")
        return False

    def _chain_typedef(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self._qualifiers(decls)
        self.out.append(self.ident_name(t))
        return False

    def _chain_ptr(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self.out.append("*" if ptr else " *")
        return False

    def _chain_qualifier(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self.out.append(f" {_QUALIFIERS[t.kind]}")
        return False

    def _chain_type_tag(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self._qualifiers(decls)
        self.out.append(f' __attribute__((btf_type_tag("{t.name}")))')
        return False

    def _chain_array(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        self._drop_modifiers(decls)
        if not decls:
            self._name(fname, ptr)
            self.out.append(f"[{t.nelems}]")
            return True
        multidim = self.types[decls[-1]].kind == Kind.ARRAY
        if fname and not ptr:
            self.out.append(" ")
        if not multidim:
            self.out.append("(")
        self._chain(decls, fname, lvl)
        if not multidim:
            self.out.append(")")
        self.out.append(f"[{t.nelems}]")
        return True

    def _chain_func_proto(self, t: Any, decls: list[int], fname: str, lvl: int, ptr: bool) -> bool:
        out = self.out
        self._drop_modifiers(decls)
        if decls:
            out.append(" (")
            self._chain(decls, fname, lvl)
            out.append(")")
        else:
            self._name(fname, ptr)
        out.append("(")
        params = t.params
        if not params or (len(params) == 1 and params[0].type_id == 0):
            out.append("void)")
            return True
        last = len(params) - 1
        for i, p in enumerate(params):
            if i:
                out.append(", ")
            if i == last and p.type_id == 0:
                out.append("...")
                break
            self.decl(p.type_id, p.name, lvl)
        out.append(")")
        return True


def _indent(lvl: int) -> str:
    return "\t" * min(lvl, 13)
