#!/usr/bin/env python3
"""Generate ``src/ebpy/uapi/_generated.py`` from the kernel's UAPI headers.

Reads ``linux/bpf_common.h``, ``linux/bpf.h`` and ``linux/pkt_cls.h`` (from
``/usr/include`` or ``--include-dir``) and writes a Python module holding their
integer constants: every object-like ``BPF_*`` / ``XDP_*`` / ``TC_ACT_*`` macro,
every enumerator of every enum in ``bpf.h``, ``IntEnum`` / ``IntFlag`` classes for
the main enums and flag groups (see ``GROUPS``), and the helper-function ids from
``__BPF_FUNC_MAPPER``.

This is a stand-alone script that uses only the standard library. It is not a C
preprocessor: it understands ``#define``, ``enum { ... }``, simple
function-like macro calls with ``##`` pasting, and integer expressions made of
literals, names and the C arithmetic / bitwise operators. ``#if`` / ``#ifdef``
blocks are not evaluated (every branch is read) and ``#undef`` is ignored, which
is fine for these headers. Anything it cannot evaluate (strings, casts to
unknown types, macros that take arguments, ``~`` or unary ``-`` of an unsigned
value, which C would wrap) is skipped silently.

Usage::

    python3 tools/gen_uapi.py                      # write src/ebpy/uapi/_generated.py
    python3 tools/gen_uapi.py --output -           # print to stdout
    python3 tools/gen_uapi.py --include-dir DIR    # headers from DIR/linux/*.h
    python3 tools/gen_uapi.py --check              # exit 1 if the file is stale
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_INCLUDE_DIR = Path("/usr/include")
DEFAULT_OUTPUT = REPO_ROOT / "src" / "ebpy" / "uapi" / "_generated.py"
UNKNOWN_VERSION = "unknown"


@dataclass(frozen=True)
class HeaderSpec:
    """One header to read: which of its macros to emit and whether to read its enums."""

    relpath: str
    macro_prefixes: tuple[str, ...]
    enums: bool


HEADERS: tuple[HeaderSpec, ...] = (
    HeaderSpec("linux/bpf_common.h", ("BPF_",), enums=True),
    HeaderSpec("linux/bpf.h", ("BPF_", "XDP_"), enums=True),
    HeaderSpec("linux/pkt_cls.h", ("TC_ACT_",), enums=False),
)


@dataclass(frozen=True)
class Group:
    """A Python enum class built from a C enum, a macro prefix or a list of names.

    Exactly one of ``enum`` (a named C enum), ``enum_with`` (the enum, possibly
    anonymous, that has this enumerator), ``macro_prefix`` (object-like macros
    with this prefix) or ``names`` (these constants, those missing are left out)
    selects the members. ``prefix`` is stripped from member names; names without
    it, names starting with ``__`` and names matching ``exclude`` are left out.
    ``doc`` starts the class docstring (default: where the members come from).
    """

    cls: str
    base: str
    prefix: str
    enum: str | None = None
    enum_with: str | None = None
    macro_prefix: str | None = None
    names: tuple[str, ...] = ()
    exclude: str | None = None
    doc: str | None = None


GROUPS: tuple[Group, ...] = (
    Group("BpfCmd", "IntEnum", "BPF_", enum="bpf_cmd"),
    Group("MapType", "IntEnum", "BPF_MAP_TYPE_", enum="bpf_map_type"),
    Group("ProgType", "IntEnum", "BPF_PROG_TYPE_", enum="bpf_prog_type"),
    Group("AttachType", "IntEnum", "BPF_", enum="bpf_attach_type"),
    Group("LinkType", "IntEnum", "BPF_LINK_TYPE_", enum="bpf_link_type"),
    Group("XdpAction", "IntEnum", "XDP_", enum="xdp_action"),
    # TC_ACT_VALUE_MAX / TC_ACT_EXT_OPCODE_MAX are sentinels, TC_ACT_EXT_VAL_MASK a mask.
    Group("TcAction", "IntEnum", "TC_ACT_", macro_prefix="TC_ACT_", exclude=r"_MAX$|_MASK$"),
    Group(
        "MapUpdateFlags", "IntFlag", "BPF_", enum_with="BPF_ANY", doc="BPF_MAP_UPDATE_ELEM flags"
    ),
    Group(
        "MapCreateFlags",
        "IntFlag",
        "BPF_F_",
        enum_with="BPF_F_NO_PREALLOC",
        doc="BPF_MAP_CREATE flags (map_flags)",
    ),
    Group(
        "ProgLoadFlags",
        "IntFlag",
        "BPF_F_",
        doc="BPF_PROG_LOAD flags (prog_flags)",
        names=(
            "BPF_F_STRICT_ALIGNMENT",
            "BPF_F_ANY_ALIGNMENT",
            "BPF_F_TEST_RND_HI32",
            "BPF_F_TEST_STATE_FREQ",
            "BPF_F_SLEEPABLE",
            "BPF_F_XDP_HAS_FRAGS",
        ),
    ),
)

# The helper list: a function-like macro named like this whose body calls its
# first parameter once per helper, FN(name) or FN(name, id, ...).
HELPER_MAPPER_RE = re.compile(r"_*BPF_FUNC_MAPPER$")


class EvalError(Exception):
    """An expression or macro this script cannot evaluate; the name is skipped."""


# --------------------------------------------------------------------------- reading


@dataclass
class Macro:
    name: str
    params: tuple[str, ...] | None  # None: object-like
    body: str
    header: str
    line: int


@dataclass
class Enumerator:
    name: str
    expr: str | None  # None: previous value + 1
    header: str
    line: int


@dataclass
class CEnum:
    name: str | None  # None: anonymous
    header: str
    line: int
    members: list[Enumerator] = field(default_factory=list)


_COMMENT_RE = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_DEFINE_RE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(\(([^)]*)\))?(.*)$", re.DOTALL)
_ENUM_RE = re.compile(r"\benum\s+([A-Za-z_]\w*)?\s*\{([^{}]*)\}")
_IDENT_RE = re.compile(r"[A-Za-z_]\w*")


def _strip_comments(text: str) -> str:
    # Like C: join continued lines first, then a comment becomes one space.
    text = text.replace("\\\r\n", "").replace("\\\n", "")
    return _COMMENT_RE.sub(" ", text)


def read_header(path: Path, relpath: str) -> tuple[list[Macro], str]:
    """Return the macros of a header and its code with the directives blanked out."""
    lines = _strip_comments(path.read_text(encoding="utf-8", errors="replace")).split("\n")
    macros: list[Macro] = []
    code: list[str] = []
    for lineno, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped.startswith("#"):
            code.append(line)
            continue
        code.append("")
        m = _DEFINE_RE.match(stripped)
        if m is None:
            continue  # #include, #if..., #undef: see the module docstring
        name, has_params, params, body = m.group(1), m.group(2), m.group(3), m.group(4)
        param_tuple = None
        if has_params is not None:
            param_tuple = tuple(p.strip() for p in params.split(",") if p.strip())
        macros.append(Macro(name, param_tuple, " ".join(body.split()), relpath, lineno))
    return macros, "\n".join(code)


def _split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _parse_args(text: str, open_paren: int) -> tuple[list[str], int]:
    """Arguments of a macro call whose '(' is at ``open_paren``; also the index after ')'."""
    depth = 0
    for i in range(open_paren, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                inner = text[open_paren + 1 : i]
                args = [a.strip() for a in _split_top_level(inner)]
                if args == [""]:
                    args = []
                return args, i + 1
    raise EvalError("unbalanced parentheses in macro call")


class MacroTable:
    """All macros read so far; expands function-like macro calls in a piece of text."""

    def __init__(self) -> None:
        self.objects: dict[str, Macro] = {}
        self.functions: dict[str, Macro] = {}

    def add(self, macro: Macro) -> None:
        # A later definition wins; #undef is not tracked.
        self.objects.pop(macro.name, None)
        self.functions.pop(macro.name, None)
        if macro.params is None:
            self.objects[macro.name] = macro
        else:
            self.functions[macro.name] = macro

    def expand(self, text: str, active: frozenset[str] = frozenset()) -> str:
        """Replace calls of function-like macros by their bodies, recursively."""
        out: list[str] = []
        pos = 0
        while True:
            m = _IDENT_RE.search(text, pos)
            if m is None:
                out.append(text[pos:])
                return "".join(out)
            name = m.group()
            macro = self.functions.get(name)
            after = m.end()
            while after < len(text) and text[after].isspace():
                after += 1
            if macro is None or name in active or after >= len(text) or text[after] != "(":
                out.append(text[pos : m.end()])
                pos = m.end()
                continue
            args, end = _parse_args(text, after)
            body = self._substitute(macro, args)
            out.append(text[pos : m.start()])
            out.append(self.expand(body, active | {name}))
            pos = end

    @staticmethod
    def _substitute(macro: Macro, args: list[str]) -> str:
        assert macro.params is not None
        params = list(macro.params)
        variadic: str | None = None
        if params and params[-1].endswith("..."):
            variadic = params.pop()[:-3].strip() or "__VA_ARGS__"
        if len(args) < len(params) or (variadic is None and len(args) > len(params)):
            raise EvalError(f"wrong number of arguments for {macro.name}")
        values = dict(zip(params, args, strict=False))
        body = macro.body
        if variadic is not None:
            rest = ", ".join(args[len(params) :])
            values[variadic] = rest
            # GNU ", ## args": the comma goes away when args is empty.
            body = re.sub(
                rf",\s*##\s*{re.escape(variadic)}\b", f", {variadic}" if rest else "", body
            )
        if re.search(r"(?<!#)#(?!#)", body):
            raise EvalError(f"{macro.name} stringifies an argument")
        body = _IDENT_RE.sub(lambda m: values.get(m.group(), m.group()), body)
        return re.sub(r"\s*##\s*", "", body)


def parse_enums(code: str, relpath: str, macros: MacroTable) -> list[CEnum]:
    """Every ``enum [name] { ... }`` definition in ``code``, calls of macros expanded."""
    enums: list[CEnum] = []
    for m in _ENUM_RE.finditer(code):
        line = code.count("\n", 0, m.start()) + 1
        cenum = CEnum(m.group(1), relpath, line)
        try:
            body = macros.expand(m.group(2))
        except EvalError:
            continue
        for item in _split_top_level(body):
            item = " ".join(item.split())
            if not item:
                continue
            name, sep, expr = item.partition("=")
            name = name.strip()
            if not _IDENT_RE.fullmatch(name):
                continue  # not something we understand; skip silently
            cenum.members.append(Enumerator(name, expr.strip() if sep else None, relpath, line))
        enums.append(cenum)
    return enums


# --------------------------------------------------------------------------- evaluating

_CAST_RE = re.compile(
    r"\(\s*(?:(?:const|signed|unsigned|long|short)\s+)*"
    r"(?:__[us](?:8|16|32|64)|__(?:be|le)(?:16|32|64)|u?int(?:8|16|32|64)_t|size_t"
    r"|unsigned|signed|int|long|short|char)\s*\)"
)
_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)(?P<suffix>[uUlL]*)\b"
    r"|(?P<name>[A-Za-z_]\w*)|(?P<op><<|>>|[-+*/%&|^~()]))"
)
_BINOPS: dict[type[ast.operator], Callable[[int, int], int]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.BitOr: lambda a, b: a | b,
    ast.BitAnd: lambda a, b: a & b,
    ast.BitXor: lambda a, b: a ^ b,
}


def _c_div(a: int, b: int) -> int:
    if b == 0:
        raise EvalError("division by zero")
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _c_shift(a: int, b: int, left: bool) -> int:
    if b < 0 or b > 127:
        raise EvalError("bad shift count")
    return a << b if left else a >> b


def _eval_node(node: ast.AST, unsigned: bool) -> int:
    if isinstance(node, ast.Expression):
        return _eval_node(node.body, unsigned)
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.UnaryOp):
        operand = _eval_node(node.operand, unsigned)
        if isinstance(node.op, ast.UAdd):
            return operand
        # C wraps ~x and -x of unsigned operands; Python does not, so refuse.
        if unsigned:
            raise EvalError("negation of an unsigned value")
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.Invert):
            return ~operand
    if isinstance(node, ast.BinOp):
        left = _eval_node(node.left, unsigned)
        right = _eval_node(node.right, unsigned)
        op = type(node.op)
        if op in _BINOPS:
            return _BINOPS[op](left, right)
        if op is ast.Div:
            return _c_div(left, right)
        if op is ast.Mod:
            return left - _c_div(left, right) * right
        if op is ast.LShift:
            return _c_shift(left, right, left=True)
        if op is ast.RShift:
            return _c_shift(left, right, left=False)
    raise EvalError(f"unsupported expression element {type(node).__name__}")


@dataclass(frozen=True)
class Value:
    """An evaluated constant and how to write it (hex if the header wrote it so)."""

    value: int
    hex: bool
    unsigned: bool = False  # has an unsigned operand: C would wrap ~x and -x

    def render(self) -> str:
        if self.hex and self.value >= 0:
            return f"0x{self.value:02X}"
        return str(self.value)


def evaluate(expr: str, lookup: Callable[[str], Value], macros: MacroTable) -> Value:
    """Evaluate a C integer constant expression; names are resolved with ``lookup``."""
    text = _CAST_RE.sub(" ", macros.expand(expr))
    pieces: list[str] = []
    pos = 0
    is_hex = False
    unsigned = False
    names: list[Value] = []
    text = text.strip()
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None or m.end() == pos:
            raise EvalError(f"cannot parse {text[pos:]!r}")
        pos = m.end()
        if m.group("num") is not None:
            digits = m.group("num")
            if "u" in m.group("suffix").lower():
                unsigned = True
            if digits[:2].lower() == "0x":
                is_hex = True
                pieces.append(str(int(digits, 16)))
            elif len(digits) > 1 and digits[0] == "0":
                pieces.append(str(int(digits, 8)))
            else:
                pieces.append(digits)
        elif m.group("name") is not None:
            value = lookup(m.group("name"))
            names.append(value)
            is_hex = is_hex or value.hex
            unsigned = unsigned or value.unsigned
            pieces.append(f"({value.value})")
        else:
            op = m.group("op")
            if op in ("<<", ">>"):
                is_hex = True
            pieces.append(op)
    if not pieces:
        raise EvalError("empty expression")
    try:
        tree = ast.parse(" ".join(pieces), mode="eval")
    except SyntaxError as exc:
        raise EvalError(str(exc)) from exc
    result = _eval_node(tree, unsigned)
    if len(pieces) == 1 and len(names) == 1:
        return names[0]  # a plain alias keeps its target's style
    return Value(result, is_hex, unsigned)


# --------------------------------------------------------------------------- the model


@dataclass
class Constant:
    name: str
    value: Value
    expr: str | None  # shown as a comment when it is more than a literal
    header: str
    line: int
    enum: CEnum | None = None


@dataclass
class Helper:
    name: str
    id: int


@dataclass
class Model:
    constants: list[Constant]
    enums: list[CEnum]
    values: dict[str, Value]
    macros: MacroTable
    helpers: list[Helper]


class _Resolver:
    """Resolves names to values lazily, the way C expands macros at their use."""

    def __init__(self, macros: MacroTable) -> None:
        self.macros = macros
        self.enumerators: dict[str, Value] = {}
        self._busy: set[str] = set()

    def __call__(self, name: str) -> Value:
        if name in self.enumerators:
            return self.enumerators[name]
        macro = self.macros.objects.get(name)
        if macro is None or name in self._busy:
            raise EvalError(f"unknown name {name}")
        self._busy.add(name)
        try:
            return evaluate(macro.body, self, self.macros)
        finally:
            self._busy.discard(name)


def _find_helpers(macros: MacroTable) -> list[Helper]:
    """The FN(...) list of the __BPF_FUNC_MAPPER macro (FN(name) or FN(name, id, ...))."""
    best: list[list[str]] = []
    for macro in macros.functions.values():
        if not HELPER_MAPPER_RE.search(macro.name) or not macro.params:
            continue
        fn = macro.params[0]
        calls: list[list[str]] = []
        for m in re.finditer(rf"\b{re.escape(fn)}\s*\(", macro.body):
            try:
                args, _ = _parse_args(macro.body, m.end() - 1)
            except EvalError:
                continue
            if args and _IDENT_RE.fullmatch(args[0]):
                calls.append(args)
        if len(calls) > len(best):
            best = calls
    helpers: list[Helper] = []
    next_id = 0
    for args in best:
        if len(args) >= 2 and re.fullmatch(r"\d+|0[xX][0-9a-fA-F]+", args[1]):
            next_id = int(args[1], 0)
        helpers.append(Helper(args[0], next_id))
        next_id += 1
    return helpers


def build_model(include_dir: Path) -> Model:
    macros = MacroTable()
    parsed: list[tuple[HeaderSpec, list[Macro], str]] = []
    for spec in HEADERS:
        header_macros, code = read_header(include_dir / spec.relpath, spec.relpath)
        for macro in header_macros:
            macros.add(macro)
        parsed.append((spec, header_macros, code))

    resolve = _Resolver(macros)
    constants: list[Constant] = []
    all_enums: list[CEnum] = []
    for spec, header_macros, code in parsed:
        enums = parse_enums(code, spec.relpath, macros) if spec.enums else []
        all_enums.extend(enums)
        for cenum in enums:
            # Without an explicit value, an enumerator is the previous one plus one;
            # once one cannot be evaluated, the implicit ones after it cannot be either.
            previous: Value | None = Value(-1, False)
            kept: list[Enumerator] = []
            for member in cenum.members:
                try:
                    if member.expr is not None:
                        value = evaluate(member.expr, resolve, macros)
                    elif previous is not None:
                        value = Value(previous.value + 1, False, previous.unsigned)
                    else:
                        raise EvalError(f"{member.name} follows an unknown value")
                except EvalError:
                    previous = None
                    continue
                kept.append(member)
                resolve.enumerators[member.name] = value
                previous = value
                expr = member.expr if member.expr and not _is_literal(member.expr) else None
                constants.append(
                    Constant(member.name, value, expr, member.header, member.line, cenum)
                )
            cenum.members = kept
        for macro in header_macros:
            if macro.params is not None or not macro.name.startswith(spec.macro_prefixes):
                continue
            try:
                value = resolve(macro.name)
            except EvalError:
                continue
            expr = macro.body if not _is_literal(macro.body) else None
            constants.append(Constant(macro.name, value, expr, macro.header, macro.line))

    constants.sort(key=lambda c: (HEADERS_ORDER[c.header], c.line))
    values: dict[str, Value] = {}
    unique: list[Constant] = []
    for const in constants:
        if const.name in values:
            if values[const.name].value != const.value.value:
                raise SystemExit(f"gen_uapi: {const.name} has two different values")
            continue
        values[const.name] = const.value
        unique.append(const)
    return Model(unique, all_enums, values, macros, _find_helpers(macros))


HEADERS_ORDER = {spec.relpath: i for i, spec in enumerate(HEADERS)}


def _is_literal(expr: str) -> bool:
    return re.fullmatch(r"\(?\s*-?\s*(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\s*\)?", expr) is not None


# --------------------------------------------------------------------------- writing


def _group_members(group: Group, model: Model) -> list[tuple[str, Value]]:
    if group.enum is not None or group.enum_with is not None:
        for cenum in model.enums:
            names = [e.name for e in cenum.members]
            if (group.enum is not None and cenum.name == group.enum) or (
                group.enum_with is not None and group.enum_with in names
            ):
                candidates = names
                break
        else:
            candidates = []
    elif group.macro_prefix is not None:
        candidates = [
            c.name
            for c in model.constants
            if c.enum is None and c.name.startswith(group.macro_prefix)
        ]
    else:
        candidates = list(group.names)
    members: list[tuple[str, Value]] = []
    for name in candidates:
        if name not in model.values or name.startswith("__"):
            continue
        if not name.startswith(group.prefix) or (group.exclude and re.search(group.exclude, name)):
            continue
        member = name[len(group.prefix) :]
        if not member.isidentifier() or member.startswith("_"):
            member = name
        members.append((member, model.values[name]))
    return members


def _all_sort_key(name: str) -> tuple[int, list[tuple[int, str]]]:
    """Constants, then classes, then the rest; digits compare as numbers (as ruff sorts)."""
    kind = 0 if name.isupper() else 1 if name[:1].isupper() else 2
    parts = re.findall(r"\d+|\D+", name)
    return kind, [(int(p), "") if p.isdigit() else (-1, p) for p in parts]


def _comment(expr: str | None) -> str:
    return f"  # {expr}" if expr else ""


def render(model: Model, header_version: str) -> str:
    out: list[str] = []
    emit = out.append
    public: list[str] = ["HEADER_VERSION"]

    emit(
        "# DO NOT EDIT: generated by tools/gen_uapi.py from linux/bpf.h "
        f"(linux-libc-dev {header_version})"
    )
    emit("# Sources: " + ", ".join(spec.relpath for spec in HEADERS) + ".")
    emit("# Regenerate with: python3 tools/gen_uapi.py")
    emit('"""Integer constants from the Linux UAPI headers bpf.h, bpf_common.h and pkt_cls.h.')
    emit("")
    emit("Generated by tools/gen_uapi.py; never edit by hand. Module constants keep their C")
    emit("names; the enum classes drop the common prefix. This is a table of numbers, not an")
    emit("API for bpf(2) calls.")
    emit('"""')
    emit("")
    emit("from enum import IntEnum, IntFlag")
    emit("")
    emit(f"HEADER_VERSION = {json.dumps(header_version)}")

    current_header: str | None = None
    current_enum: CEnum | None = None
    for const in model.constants:
        if const.header != current_header:
            current_header = const.header
            current_enum = None
            emit("")
            emit(f"# {'-' * 20} {const.header}")
        if const.enum is not current_enum:
            current_enum = const.enum
            emit("")
            if current_enum is not None:
                emit(f"# enum {current_enum.name or '(anonymous)'}")
        emit(f"{const.name} = {const.value.render()}{_comment(const.expr)}")
        if not const.name.startswith("_"):
            public.append(const.name)

    for group in GROUPS:
        members = _group_members(group, model)
        if not members:
            print(f"gen_uapi: warning: nothing found for {group.cls}", file=sys.stderr)
            continue
        if group.doc:
            source = group.doc
        elif group.enum:
            source = f"Enum {group.enum}"
        elif group.enum_with:
            source = f"The enum holding {group.enum_with}"
        elif group.macro_prefix:
            source = f"The {group.macro_prefix}* macros"
        else:
            source = "The " + ", ".join(group.names) + " flags"
        source = textwrap.fill(
            f"{source}, without the {group.prefix} prefix.",
            width=88,
            subsequent_indent="    ",
            break_on_hyphens=False,
        )
        emit("")
        emit("")
        emit(f"class {group.cls}({group.base}):")
        emit(f'    """{source}"""' if "\n" not in source else f'    """{source}\n    """')
        emit("")
        for member, value in members:
            emit(f"    {member} = {value.render()}")
        public.append(group.cls)

    if model.helpers:
        emit("")
        emit("")
        emit("class HelperId(IntEnum):")
        emit('    """Helper function ids (__BPF_FUNC_MAPPER), upper-case names."""')
        emit("")
        for helper in model.helpers:
            emit(f"    {helper.name.upper()} = {helper.id}")
        emit("")
        emit("")
        emit("# Helper id -> name as in the header, without the bpf_ prefix.")
        emit("HELPER_NAMES: dict[int, str] = {")
        for helper in model.helpers:
            emit(f'    {helper.id}: "{helper.name}",')
        emit("}")
        public += ["HelperId", "HELPER_NAMES"]
    else:
        print("gen_uapi: warning: no __BPF_FUNC_MAPPER helper list found", file=sys.stderr)

    emit("")
    emit("__all__ = [")
    for name in sorted(public, key=_all_sort_key):
        emit(f'    "{name}",')
    emit("]")
    return "\n".join(out) + "\n"


def generate(include_dir: Path, header_version: str) -> str:
    """The text of the generated module for the headers under ``include_dir``."""
    return render(build_model(include_dir), header_version)


def installed_header_version() -> str:
    """The installed linux-libc-dev version from dpkg, or ``"unknown"``."""
    try:
        proc = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", "linux-libc-dev"],
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN_VERSION
    version = proc.stdout.strip()
    if proc.returncode != 0 or not re.fullmatch(r"[\w.+~:-]+", version):
        return UNKNOWN_VERSION
    return version


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument(
        "--include-dir",
        type=Path,
        default=DEFAULT_INCLUDE_DIR,
        help="directory holding linux/bpf.h etc. (default: %(default)s)",
    )
    parser.add_argument(
        "--output",
        default=str(DEFAULT_OUTPUT),
        help="file to write, or - for stdout (default: src/ebpy/uapi/_generated.py)",
    )
    parser.add_argument(
        "--header-version",
        help="version to record (default: dpkg's linux-libc-dev version when reading "
        f"{DEFAULT_INCLUDE_DIR}, else {UNKNOWN_VERSION!r})",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the output file differs from what would be written",
    )
    args = parser.parse_args(argv)

    version = args.header_version
    if version is None:
        same_dir = args.include_dir.resolve() == DEFAULT_INCLUDE_DIR.resolve()
        version = installed_header_version() if same_dir else UNKNOWN_VERSION
    missing = [s.relpath for s in HEADERS if not (args.include_dir / s.relpath).is_file()]
    if missing:
        print(f"gen_uapi: missing under {args.include_dir}: {', '.join(missing)}", file=sys.stderr)
        return 2
    text = generate(args.include_dir, version)

    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    if args.check:
        current = output.read_text(encoding="utf-8") if output.is_file() else None
        if current != text:
            print(f"gen_uapi: {output} is out of date", file=sys.stderr)
            return 1
        return 0
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8", newline="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
