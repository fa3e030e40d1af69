"""An object's BTF in the kernel: ``BPF_BTF_LOAD`` of the types a BPF object carries.

A loader hands an object's ``.BTF`` to the kernel so that maps can name their
key and value types (local storage maps, spin locks and timers need it) and
programs can come with function and line info (the verifier checks global
functions on their own only with it). ``KernelBtf.load(btf)`` does that:

1. ``sanitize`` changes what the kernel refuses of clang's output, as libbpf
   does before loading: extern variables become global ones, extern
   functions (kfunc declarations) global ones whose parameters all have
   names, and the ``.ksyms`` section, whose entries are externs, is laid out
   as 4-byte ``int`` variables one after the other (functions there get a
   variable of their own). Types keep their ids; new ones go at the end;
2. the types are encoded (``ebpy.btf.encode``) and the strings that line info
   names (file names, source lines) are added to the string section
   (``string_offset`` gives their offsets);
3. ``BPF_BTF_LOAD``; a refusal raises ``KernelError`` carrying the kernel's
   BTF log (fetched by a second load with a log when none was asked for).

``KernelBtf`` owns the BTF fd. This module does not load the kernel's own BTF
(``ebpy.btf.parse.load_vmlinux`` reads it) and does not create maps or
programs.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Iterable
from dataclasses import replace

from ebpy.btf.encode import encode_btf
from ebpy.btf.parse import HEADER_SIZE, parse_header
from ebpy.btf.types import Btf, Datasec, Func, FuncProto, Int, Linkage, Param, Type, Var, VarSecinfo
from ebpy.errors import KernelError
from ebpy.kernel._syscall import BtfLoadAttr, FdOwner, addressof, bpf, close_quietly
from ebpy.uapi import BpfCmd

__all__ = ["KSYMS_SECTION", "KernelBtf", "kernel_btf_bytes", "sanitize"]

KSYMS_SECTION = ".ksyms"
LOG_SIZE = 4 * 1024 * 1024


def _int_id(types: list[Type], start: int) -> int:
    for t in types:
        if isinstance(t, Int) and t.name == "int" and t.size == 4:
            return t.id
    new = Int(start + len(types), "int", size=4, encoding=Int.SIGNED, bits=32)
    types.append(new)
    return new.id


def sanitize(btf: Btf) -> Btf:
    """``btf`` as the kernel accepts it (see the module docstring); ids are kept.

    >>> from ebpy.btf.types import FuncProto
    >>> b = Btf([Int(1, "int", size=4, encoding=1, bits=32),
    ...          FuncProto(2, "", type_id=1, params=(Param("", 1),)),
    ...          Func(3, "bpf_kfunc", type_id=2, linkage=Linkage.EXTERN)])
    >>> s = sanitize(b)
    >>> int(s[3].linkage), s[2].params[0].name
    (1, 'bpf_kfunc')
    """
    start = btf.start_id
    types: list[Type] = list(btf.types)
    changed = False
    for i, t in enumerate(btf.types):
        if isinstance(t, Var) and t.linkage == Linkage.EXTERN:
            types[i] = replace(t, linkage=Linkage.GLOBAL)
            changed = True
        elif isinstance(t, Func) and t.linkage == Linkage.EXTERN:
            types[i] = replace(t, linkage=Linkage.GLOBAL)
            changed = True
            proto = btf[t.type_id]
            if isinstance(proto, FuncProto) and proto.id >= start:
                params = tuple(
                    Param(p.name or t.name, p.type_id) if p.type_id else p for p in proto.params
                )
                if params != proto.params:
                    types[proto.id - start] = replace(proto, params=params)
    for i, t in enumerate(btf.types):
        if isinstance(t, Datasec) and t.name == KSYMS_SECTION and t.vars:
            int_id = _int_id(types, start)
            entries = []
            for n, v in enumerate(t.vars):
                target = types[v.type_id - start] if v.type_id >= start else None
                if isinstance(target, Var):
                    var_id = target.id
                    types[var_id - start] = replace(target, type_id=int_id, linkage=Linkage.GLOBAL)
                else:
                    var_id = start + len(types)
                    name = target.name if target is not None else f"ksym{n}"
                    types.append(Var(var_id, name, type_id=int_id, linkage=Linkage.GLOBAL))
                entries.append(VarSecinfo(var_id, 4 * n, 4))
            types[i] = replace(t, size=4 * len(entries), vars=tuple(entries))
            changed = True
    if not changed:
        return btf
    return Btf(types, strings=btf.strings, base=btf.base)


def kernel_btf_bytes(btf: Btf, strings: Iterable[str] = ()) -> tuple[bytes, dict[str, int]]:
    """The sanitized, encoded ``btf`` with ``strings`` in its string section, and the
    offset of each of them."""
    data = encode_btf(sanitize(btf))
    hdr = parse_header(data)
    table = data[hdr.str_start : hdr.str_start + hdr.str_len]
    offsets: dict[str, int] = {}
    pos = 0
    for raw in table.split(b"\0")[:-1]:
        offsets.setdefault(raw.decode("utf-8", "surrogateescape"), pos)
        pos += len(raw) + 1
    extra = bytearray()
    for text in strings:
        if text in offsets:
            continue
        raw = text.replace("\0", " ").encode("utf-8", "surrogateescape")
        offsets[text] = len(table) + len(extra)
        extra += raw + b"\0"
    if extra:
        data += bytes(extra)
        str_len = hdr.str_len + len(extra)
        data = data[:20] + struct.pack("<I", str_len) + data[HEADER_SIZE:]
    return data, offsets


def _load(data: bytes, log_level: int) -> tuple[int, str]:
    buf = ctypes.create_string_buffer(data, len(data))
    log = ctypes.create_string_buffer(LOG_SIZE) if log_level else None
    attr = BtfLoadAttr()
    attr.btf = addressof(buf)
    attr.btf_size = len(data)
    if log is not None:
        attr.btf_log_buf = addressof(log)
        attr.btf_log_size = LOG_SIZE
        attr.btf_log_level = log_level
    try:
        fd = bpf(BpfCmd.BTF_LOAD, attr)
    except KernelError as e:
        text = log.value.decode("utf-8", "replace") if log is not None else ""
        raise KernelError(e.cmd, e.errno, text) from None
    return fd, log.value.decode("utf-8", "replace") if log is not None else ""


class KernelBtf(FdOwner):
    """An object's BTF loaded into the kernel, owning its fd."""

    KIND = "btf"

    def __init__(self, fd: int, btf: Btf, offsets: dict[str, int]) -> None:
        super().__init__(fd)
        self.btf = btf
        self._offsets = offsets

    @classmethod
    def load(cls, btf: Btf, *, strings: Iterable[str] = ()) -> KernelBtf:
        """``BPF_BTF_LOAD`` of ``btf`` (sanitized) with ``strings`` added; ``KernelError``
        with the kernel's log when it is refused."""
        data, offsets = kernel_btf_bytes(btf, strings)
        try:
            fd, _ = _load(data, 0)
        except KernelError as first:
            try:
                fd, log = _load(data, 1)
            except KernelError as second:
                raise KernelError(first.cmd, first.errno, second.log) from None
            close_quietly(fd)  # loaded with a log but not without: keep the first error
            raise KernelError(first.cmd, first.errno, log) from None
        return cls(fd, btf, offsets)

    def string_offset(self, text: str) -> int:
        """The offset of ``text`` in the loaded string section (0 when it is not there)."""
        return self._offsets.get(text, 0)

    def _describe(self) -> str:
        return f"{len(self.btf.types)} types"
