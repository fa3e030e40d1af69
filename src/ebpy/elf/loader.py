"""Load a BPF ELF object into a frozen ``ObjectSpec``, as libbpf (and iproute2) open it.

``load_object(data, path)`` reads the file (``ebpy.elf.image``), its BTF, the
license and version, the maps in libbpf's order (legacy or iproute2 ``maps``,
BTF-defined ``.maps``, global data, ``.kconfig``), the functions of every
executable section, applies the code relocations and links each program
with the ``.text`` subprograms it calls. Every global function of a program
section is a program, typed by its section name (``ebpy.elf.sections``).

Nothing here touches the kernel or depends on the machine: the same file
gives the same spec everywhere. Malformed input raises ``ElfError`` (or
``BtfError`` for broken BTF), never another kind.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from ebpy.btf.ext import BtfExt, parse_btf_ext
from ebpy.btf.parse import parse_btf
from ebpy.btf.types import Btf
from ebpy.elf.functions import TEXT, Function, code_sections, collect_functions
from ebpy.elf.globals import (
    data_maps,
    find_externs,
    fixup_btf,
    kconfig_layout,
    kconfig_map,
    object_name,
)
from ebpy.elf.image import (
    BIND_NAMES,
    EM_BPF,
    SHN_ABS,
    SHN_COMMON,
    SHN_UNDEF,
    STT_SECTION,
    TYPE_NAMES,
    VISIBILITY_NAMES,
    ElfImage,
    read_image,
)
from ebpy.elf.linker import ext_records, link
from ebpy.elf.maps import MapDef, btf_maps, legacy_maps, map_slot_relocs
from ebpy.elf.relocations import Context, ResolvedFunction, resolve_section
from ebpy.elf.sections import match_section
from ebpy.errors import ElfError
from ebpy.spec import MapFlavor, MapSpec, ObjectSpec, ProgramSpec, Symbol
from ebpy.uapi import MapType

ET_REL = 1
EM_NONE = 0
LICENSE_SECTION = "license"
VERSION_SECTION = "version"
_TAIL_SECTION = re.compile(r"^(\d+)/(\d+)$")


def load_file(path: str | Path) -> ObjectSpec:
    """``load_object`` of the file at ``path``."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ElfError(f"{path}: {exc.strerror or exc}") from exc
    return load_object(data, str(path))


def load_object(data: bytes, path: str = "") -> ObjectSpec:
    """The ``ObjectSpec`` of the BPF object ``data`` (``path`` names it)."""
    image = read_image(bytes(data))
    _check_header(image)
    btf, ext = _read_btf(image)
    license_, version = _license(image), _version(image)
    externs = find_externs(image, btf)
    kconfig = kconfig_layout(btf, externs)
    if btf is not None:
        btf = fixup_btf(btf, image, kconfig)
    obj = object_name(path)
    defs = legacy_maps(image) + btf_maps(image, btf) + data_maps(image, btf, obj)
    kmap = kconfig_map(btf, kconfig, obj)
    kconfig_index = None
    if kmap is not None:
        kconfig_index = len(defs)
        defs.append(MapDef(kmap, -1, 0, kmap.value_size))
    text = image.section_named(TEXT)
    ctx = Context(
        image,
        defs,
        externs,
        {k.name: k for k in kconfig},
        kconfig_index,
        text.index if text else None,
    )
    functions = collect_functions(image)
    resolved: dict[Function, ResolvedFunction] = {}
    for sec in code_sections(image):
        resolved.update(resolve_section(ctx, sec, [f for f in functions if f.section is sec]))
    programs = _programs(functions, resolved, ext, license_, version)
    maps = _maps(image, defs, functions, programs)
    programs = _type_iproute2_tails(programs, defs)
    return ObjectSpec(
        path=path,
        name=obj,
        programs=programs,
        maps=maps,
        btf=btf,
        btf_ext=ext,
        license=license_,
        kernel_version=version,
        kconfig=kconfig,
        symbols=_symbols(image),
    )


def _check_header(image: ElfImage) -> None:
    if image.e_type != ET_REL:
        raise ElfError(f"not a relocatable object (ELF type {image.e_type})", offset=16)
    if image.machine not in (EM_BPF, EM_NONE):
        raise ElfError(f"not a BPF object (machine {image.machine})", offset=18)
    if not image.little_endian:
        raise ElfError("a big-endian object cannot be loaded on this little-endian host", offset=5)
    if not image.symbols:
        raise ElfError("no symbol table (a stripped object?)")


def _read_btf(image: ElfImage) -> tuple[Btf | None, BtfExt | None]:
    sec, ext_sec = image.section_named(".BTF"), image.section_named(".BTF.ext")
    if sec is None:
        if ext_sec is not None:
            raise ElfError(".BTF.ext without .BTF", ext_sec.name)
        return None, None
    btf = parse_btf(sec.data, section=sec.name)
    ext = parse_btf_ext(ext_sec.data, btf) if ext_sec is not None else None
    return btf, ext


def _license(image: ElfImage) -> str:
    sec = image.section_named(LICENSE_SECTION)
    if sec is None:
        return ""
    return sec.data.split(b"\0", 1)[0].decode("utf-8", "replace")


def _version(image: ElfImage) -> int:
    sec = image.section_named(VERSION_SECTION)
    if sec is None:
        return 0
    if sec.size != 4 or sec.nobits:
        raise ElfError(f"the kernel version must be 4 bytes, not {sec.size}", sec.name, sec.offset)
    return int.from_bytes(sec.data, "little")


def _programs(
    functions: Sequence[Function],
    resolved: dict[Function, ResolvedFunction],
    ext: BtfExt | None,
    license_: str,
    version: int,
) -> dict[str, ProgramSpec]:
    by_start = {(f.section.index, f.start): f for f in functions}
    out: dict[str, ProgramSpec] = {}
    for fn in functions:
        if fn.section.name == TEXT:
            continue
        if fn.local:
            raise ElfError(
                f"program {fn.name!r} is static: programs must be global",
                fn.section.name,
                fn.offset,
            )
        if fn.name in out:
            raise ElfError(f"two programs are named {fn.name!r}", fn.section.name, fn.offset)
        info = match_section(fn.section.name)
        linked = link(fn, resolved, by_start)
        func_info, line_info, relos = ext_records(ext, linked)
        out[fn.name] = ProgramSpec(
            name=fn.name,
            section=fn.section.name,
            prog_type=info.prog_type,
            expected_attach_type=info.expected_attach_type,
            attach_to=info.attach_to,
            instructions=linked.insns,
            license=license_,
            kernel_version=version,
            convention=info.convention,
            flags=info.load_flags,
            func_info=func_info,
            line_info=line_info,
            core_relos=relos,
            maps=linked.maps,
            externs=linked.externs,
            functions=tuple((f.name, index) for f, _, index in linked.functions),
        )
    return out


def _maps(
    image: ElfImage,
    defs: Sequence[MapDef],
    functions: Sequence[Function],
    programs: dict[str, ProgramSpec],
) -> dict[str, MapSpec]:
    entry = {(f.section.index, f.offset): f.name for f in functions if f.name in programs}

    def program_at(section: int, offset: int) -> str | None:
        return entry.get((section, offset))

    values = map_slot_relocs(image, defs, program_at)
    tails = _iproute2_tail_calls(programs)
    out: dict[str, MapSpec] = {}
    for d in defs:
        spec = d.spec
        if spec.name in values:
            spec = replace(spec, values=values[spec.name])
        elif spec.flavor == MapFlavor.IPROUTE2 and spec.type == MapType.PROG_ARRAY:
            spec = replace(spec, values=tails.get(d.legacy_id, ()))
        if spec.name in out:
            raise ElfError(f"two maps are named {spec.name!r}", spec.section, d.offset)
        out[spec.name] = spec
    return out


def _iproute2_tail_calls(
    programs: dict[str, ProgramSpec],
) -> dict[int, tuple[tuple[int, str], ...]]:
    """iproute2's tail-call sections ``ID/KEY``: program at KEY of prog array ID."""
    found: dict[int, dict[int, str]] = {}
    for p in programs.values():
        m = _TAIL_SECTION.match(p.section)
        if m:
            found.setdefault(int(m.group(1)), {}).setdefault(int(m.group(2)), p.name)
    return {k: tuple(sorted(v.items())) for k, v in found.items()}


def _type_iproute2_tails(
    programs: dict[str, ProgramSpec], defs: Sequence[MapDef]
) -> dict[str, ProgramSpec]:
    """Give a program of an iproute2 tail-call section (``ID/KEY``, no type of its
    own) the type of the programs that tail-call through prog array ID: tc
    loads them all with one type, and the kernel wants a prog array's
    programs to share the caller's type."""
    arrays = {
        d.legacy_id: d.spec.name
        for d in defs
        if d.spec.flavor == MapFlavor.IPROUTE2 and d.spec.type == MapType.PROG_ARRAY
    }
    out = dict(programs)
    for name, prog in programs.items():
        m = _TAIL_SECTION.match(prog.section)
        if prog.known_type or m is None or int(m.group(1)) not in arrays:
            continue
        array = arrays[int(m.group(1))]
        callers = {
            (p.prog_type, p.expected_attach_type, p.convention)
            for p in programs.values()
            if array in p.maps and p.known_type
        }
        if len(callers) == 1:
            prog_type, attach, convention = callers.pop()
            out[name] = replace(
                prog, prog_type=prog_type, expected_attach_type=attach, convention=convention
            )
    return out


def _symbols(image: ElfImage) -> tuple[Symbol, ...]:
    special = {SHN_UNDEF: "UND", SHN_ABS: "ABS", SHN_COMMON: "COM"}
    out = []
    for s in image.symbols[1:]:
        section = special.get(s.shndx) or image.section_name(s.shndx)
        name = section if s.type == STT_SECTION and not s.name else s.name
        out.append(
            Symbol(
                name,
                section,
                s.value,
                s.size,
                TYPE_NAMES.get(s.type, str(s.type)),
                BIND_NAMES.get(s.bind, str(s.bind)),
                VISIBILITY_NAMES[s.visibility],
            )
        )
    return tuple(out)
