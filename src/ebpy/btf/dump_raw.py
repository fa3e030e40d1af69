"""Print BTF as ``bpftool btf dump file F`` does (its default "raw" format).

One line per type, ``[ID] KIND 'name'`` and the kind's fields, then one
tab-indented line per member, parameter, enumerator or section variable.
Anonymous names print as ``(anon)``. The output is meant to equal bpftool 7.1's
byte for byte, for object files, vmlinux and split module BTF (only the
split table's own types are printed, as bpftool does).

This module prints only; it does not print C (``ebpy.btf.dump``), JSON or
read BTF. A name that bpftool would show from a non-zero string offset that
holds an empty string prints as ``(anon)`` here (the model keeps names, not
offsets); no compiler or kernel emits such names.

>>> from ebpy.btf.types import Btf, Int, Ptr
>>> print(dump_raw(Btf([Int(1, "int", size=4, encoding=1, bits=32), Ptr(2, "", type_id=1)])), end="")
[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED
[2] PTR '(anon)' type_id=1
"""

from __future__ import annotations

from collections.abc import Callable

from ebpy.btf.types import (
    Array,
    Btf,
    Datasec,
    DeclTag,
    Enum,
    Enum64,
    Float,
    Func,
    FuncProto,
    Fwd,
    Int,
    Kind,
    Struct,
    Type,
    Union,
    Var,
)
from ebpy.errors import BtfError

__all__ = ["FORMATTERS", "KIND_NAMES", "dump_raw", "format_type"]

KIND_NAMES: dict[int, str] = {int(k): k.name for k in Kind} | {int(Kind.UNKN): "UNKNOWN"}
"""bpftool's name of each kind."""

_INT_ENCODINGS = {0: "(none)", Int.SIGNED: "SIGNED", Int.CHAR: "CHAR", Int.BOOL: "BOOL"}
_LINKAGES = {0: "static", 1: "global", 2: "extern"}


def _name(name: str) -> str:
    return name or "(anon)"


def _int(t: Type, btf: Btf) -> str:
    assert isinstance(t, Int)
    enc = _INT_ENCODINGS.get(t.encoding, "UNKN")
    return f" size={t.size} bits_offset={t.offset} nr_bits={t.bits} encoding={enc}"


def _ref(t: Type, btf: Btf) -> str:
    return f" type_id={t.type_id}"  # type: ignore[attr-defined]


def _array(t: Type, btf: Btf) -> str:
    assert isinstance(t, Array)
    return f" type_id={t.type_id} index_type_id={t.index_type_id} nr_elems={t.nelems}"


def _composite(t: Type, btf: Btf) -> str:
    assert isinstance(t, Struct | Union)
    lines = [f" size={t.size} vlen={len(t.members)}"]
    for m in t.members:
        line = f"\t'{m.name or '(anon)'}' type_id={m.type_id} bits_offset={m.bit_offset}"
        if m.bitfield_size and t.kind_flag:
            line += f" bitfield_size={m.bitfield_size}"
        lines.append(line)
    return "\n".join(lines)


def _enum(t: Type, btf: Btf) -> str:
    assert isinstance(t, Enum)
    sign = "SIGNED" if t.signed else "UNSIGNED"
    lines = [f" encoding={sign} size={t.size} vlen={len(t.values)}"]
    lines += [f"\t'{v.name or '(anon)'}' val={v.value}" for v in t.values]
    return "\n".join(lines)


def _enum64(t: Type, btf: Btf) -> str:
    assert isinstance(t, Enum64)
    sign, suffix = ("SIGNED", "LL") if t.signed else ("UNSIGNED", "ULL")
    lines = [f" encoding={sign} size={t.size} vlen={len(t.values)}"]
    lines += [f"\t'{v.name or '(anon)'}' val={v.value}{suffix}" for v in t.values]
    return "\n".join(lines)


def _fwd(t: Type, btf: Btf) -> str:
    assert isinstance(t, Fwd)
    return " fwd_kind=union" if t.union else " fwd_kind=struct"


def _func(t: Type, btf: Btf) -> str:
    assert isinstance(t, Func)
    return f" type_id={t.type_id} linkage={_LINKAGES.get(t.linkage, '(unknown)')}"


def _func_proto(t: Type, btf: Btf) -> str:
    assert isinstance(t, FuncProto)
    lines = [f" ret_type_id={t.type_id} vlen={len(t.params)}"]
    lines += [f"\t'{p.name or '(anon)'}' type_id={p.type_id}" for p in t.params]
    return "\n".join(lines)


def _var(t: Type, btf: Btf) -> str:
    assert isinstance(t, Var)
    return f" type_id={t.type_id}, linkage={_LINKAGES.get(t.linkage, '(unknown)')}"


def _datasec(t: Type, btf: Btf) -> str:
    assert isinstance(t, Datasec)
    lines = [f" size={t.size} vlen={len(t.vars)}"]
    count = len(btf)
    for v in t.vars:
        line = f"\ttype_id={v.type_id} offset={v.offset} size={v.size}"
        if v.type_id < count:
            vt = btf[v.type_id]
            line += f" ({KIND_NAMES[vt.kind]} '{_name(vt.name)}')"
        lines.append(line)
    return "\n".join(lines)


def _float(t: Type, btf: Btf) -> str:
    assert isinstance(t, Float)
    return f" size={t.size}"


def _decl_tag(t: Type, btf: Btf) -> str:
    assert isinstance(t, DeclTag)
    return f" type_id={t.type_id} component_idx={t.component_idx}"


FORMATTERS: dict[Kind, Callable[[Type, Btf], str]] = {
    Kind.INT: _int,
    Kind.PTR: _ref,
    Kind.ARRAY: _array,
    Kind.STRUCT: _composite,
    Kind.UNION: _composite,
    Kind.ENUM: _enum,
    Kind.FWD: _fwd,
    Kind.TYPEDEF: _ref,
    Kind.VOLATILE: _ref,
    Kind.CONST: _ref,
    Kind.RESTRICT: _ref,
    Kind.FUNC: _func,
    Kind.FUNC_PROTO: _func_proto,
    Kind.VAR: _var,
    Kind.DATASEC: _datasec,
    Kind.FLOAT: _float,
    Kind.DECL_TAG: _decl_tag,
    Kind.TYPE_TAG: _ref,
    Kind.ENUM64: _enum64,
}
"""What bpftool prints after ``[ID] KIND 'name'``, per kind."""


def format_type(t: Type, btf: Btf) -> str:
    """The lines bpftool prints for type ``t`` of ``btf``, without the last newline."""
    formatter = FORMATTERS.get(t.kind)
    if formatter is None:
        raise BtfError(f"cannot print kind {t.kind.name}", type_id=t.id)
    return f"[{t.id}] {KIND_NAMES[t.kind]} '{_name(t.name)}'{formatter(t, btf)}"


def dump_raw(btf: Btf) -> str:
    """``bpftool btf dump file F`` of ``btf``: its own types (not its base's), one per line."""
    if not btf.types:
        return ""
    return "\n".join([format_type(t, btf) for t in btf.types]) + "\n"
