"""String helpers: bpf_snprintf, bpf_strtol, bpf_strtoul, bpf_strncmp, and the bprintf formatter.

The kernel formats for ``bpf_snprintf``, ``bpf_trace_printk`` and
``bpf_trace_vprintk`` in two steps, and so does this module:

1. ``bprintf_prepare`` checks the format as ``bpf_bprintf_prepare`` does (only
   printable ASCII and white space; conversions ``%d %i %u %x %X`` with an
   optional ``l``/``ll``, ``%c``, ``%s``, ``%%``, ``%p``, ``%pK``, ``%px``,
   ``%ps``, ``%pS``, ``%pB``, ``%pks``, ``%pus``, ``%pi4 %pI4 %pi6 %pI6``;
   flags ``0 + - space`` and a width, but no precision, no ``#``, no ``*``;
   at most one argument per conversion) and packs the arguments into a
   512-byte "binary arguments" buffer, copying strings and IP addresses out of
   the run's memory (a bad pointer gives an empty string or a zero address);
2. ``bstr_printf`` renders the format from that buffer into at most ``size``
   bytes and returns the length the whole text needs, as the kernel's
   ``bstr_printf`` (field widths, zero padding, left justification, signs).

Deviations, all about things userspace cannot know: ``%p`` and ``%pK`` print
the pointer itself (as the kernel does with ``no_hash_pointers``), not a hash;
``%ps``/``%pS``/``%pB`` print ``0x<hex>`` (what kallsyms prints for an address
that is no kernel symbol). This module is not the trace pipe (``tracing``).

>>> from ebpy.memory import AddressSpace
>>> bin_args = bprintf_prepare(AddressSpace(), b"%d|%-4x|%05u", [-3, 255, 42])
>>> bstr_printf(b"%d|%-4x|%05u", bin_args, 64)
(b'-3|ff  |00042\\x00', 13)
"""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence

from ebpy.errors import MemoryAccessError
from ebpy.helpers.env import Runtime
from ebpy.helpers.maps import neg
from ebpy.helpers.protos import Arg, Proto
from ebpy.helpers.registry import Helper
from ebpy.isa._intmath import M32, M64, sext
from ebpy.memory import SLOT_MASK, SLOT_SHIFT, AddressSpace
from ebpy.uapi import HelperId

MAX_BPRINTF_VARARGS = 12
"""Arguments ``bpf_snprintf`` and ``bpf_trace_vprintk`` take at most."""
MAX_BPRINTF_BIN_ARGS = 512
"""Size of the packed-arguments buffer (strings are copied into it)."""
MAX_BPRINTF_BUF = 1024
"""Size of the buffer ``bpf_trace_printk`` formats into."""

FIELD_WIDTH_MAX = (1 << 23) - 1
"""Widths are clamped to this, as the kernel's printf_spec does."""

# printf_spec flags, as in lib/vsprintf.c
SIGN, LEFT, PLUS, SPACE, ZEROPAD, SMALL = 1, 2, 4, 8, 16, 32
_FLAG_CHARS = {ord(" "): SPACE, ord("+"): PLUS, ord("-"): LEFT, ord("0"): ZEROPAD, ord("#"): 64}

_PCT, _LOWER_L = ord("%"), ord("l")


def _isspace(c: int) -> bool:
    """The kernel's ``isspace`` (its Latin-1 table counts 0xA0 as a space)."""
    return 9 <= c <= 13 or c in (32, 0xA0)


def _isdigit(c: int) -> bool:
    return 48 <= c <= 57


def _isalnum(c: int) -> bool:
    return _isdigit(c) or (c < 128 and 97 <= (c | 0x20) <= 122)


def _ispunct(c: int) -> bool:
    return 33 <= c <= 47 or 58 <= c <= 64 or 91 <= c <= 96 or 123 <= c <= 126


def _isxdigit(c: int) -> bool:
    return _isdigit(c) or 97 <= (c | 0x20) <= 102


# -- reading the run's memory as the kernel's *_nofault copies do ------------------------
def copy_nofault(memory: AddressSpace, addr: int, size: int) -> bytes | None:
    """``size`` bytes at ``addr``, or None where any of them is not mapped."""
    try:
        return memory.read(addr & M64, size)
    except MemoryAccessError:
        return None


def strncpy_nofault(memory: AddressSpace, addr: int, count: int) -> bytes | None:
    """The bytes ``strncpy_from_kernel_nofault(dst, addr, count)`` puts in ``dst``.

    The string with its NUL, or its first ``count - 1`` bytes and a NUL when it
    is longer (``len()`` of the result is what the kernel returns); ``b""`` for
    ``count <= 0``; None on a fault before the copy ends.
    """
    if count <= 0:
        return b""
    addr &= M64
    buf = memory.readable.get(addr >> SLOT_SHIFT)
    if buf is None:
        return None
    off = addr & SLOT_MASK
    nul = buf.find(0, off, min(len(buf), off + count))
    if nul >= 0:
        return bytes(buf[off : nul + 1])
    if off + count <= len(buf):
        return bytes(buf[off : off + count - 1]) + b"\0"
    return None


# -- step 1: check the format and pack the arguments ---------------------------------------
class _Invalid(Exception):
    def __init__(self, err: int) -> None:
        super().__init__(err)
        self.err = err


class _BinArgs:
    """The packed-arguments buffer: numbers u32-aligned, strings and chars unaligned."""

    def __init__(self) -> None:
        self.buf = bytearray(MAX_BPRINTF_BIN_ARGS)
        self.pos = 0

    def _room(self) -> int:
        return MAX_BPRINTF_BIN_ARGS - self.pos

    def number(self, value: int, size: int) -> None:
        self.pos = (self.pos + 3) & ~3
        if self._room() < size:
            raise _Invalid(errno.ENOSPC)
        self.buf[self.pos : self.pos + size] = (value & ((1 << 8 * size) - 1)).to_bytes(
            size, "little"
        )
        self.pos += size

    def char(self, value: int) -> None:
        if self._room() <= 0:
            raise _Invalid(errno.ENOSPC)
        self.buf[self.pos] = value & 0xFF
        self.pos += 1

    def string(self, memory: AddressSpace, addr: int) -> None:
        if self._room() <= 0:
            raise _Invalid(errno.ENOSPC)
        text = strncpy_nofault(memory, addr, self._room()) or b"\0"
        self.buf[self.pos : self.pos + len(text)] = text
        self.pos += len(text)

    def text(self, text: bytes) -> None:
        """Text formatted now (an IP address, a symbol): cut to the room, then NUL."""
        room = max(self._room(), 0)
        if room:
            cut = text[: room - 1]
            self.buf[self.pos : self.pos + len(cut) + 1] = cut + b"\0"
        self.pos += len(text) + 1


def _ip_text(kind: int, width: int, raw: bytes) -> bytes:
    if width == ord("4"):
        sep = "{:03d}" if kind == ord("i") else "{:d}"
        return ".".join(sep.format(b) for b in raw).encode()
    if kind == ord("i"):
        return raw.hex().encode()
    return ":".join(raw[k : k + 2].hex() for k in range(0, 16, 2)).encode()


def bprintf_prepare(memory: AddressSpace, fmt: bytes, args: Sequence[int]) -> bytes | int:
    """Check ``fmt`` (without its NUL) and pack ``args``: the packed buffer, or ``-errno``."""
    out = _BinArgs()
    n = len(fmt)

    def at(k: int) -> int:
        return fmt[k] if k < n else 0

    nspec = 0
    i = 0
    try:
        while i < n:
            c = fmt[i]
            if c > 127 or not (32 <= c <= 126 or _isspace(c)):
                raise _Invalid(errno.EINVAL)
            if c != _PCT:
                i += 1
                continue
            if at(i + 1) == _PCT:
                i += 2
                continue
            if nspec >= len(args):
                raise _Invalid(errno.EINVAL)
            arg = args[nspec] & M64
            i += 1
            while at(i) in b"0+- ":
                i += 1
            if 49 <= at(i) <= 57:
                i += 1
                while _isdigit(at(i)):
                    i += 1
            i = _prepare_one(memory, out, i, arg, at)
            nspec += 1
            i += 1
    except _Invalid as bad:
        return -bad.err
    return bytes(out.buf[: max(0, min(out.pos, MAX_BPRINTF_BIN_ARGS))])


def _ends_word(c: int) -> bool:
    return c == 0 or _isspace(c) or _ispunct(c)


def _prepare_one(
    memory: AddressSpace, out: _BinArgs, i: int, arg: int, get: Callable[[int], int]
) -> int:
    """Pack one conversion starting at ``fmt[i]`` (``get(k)`` is ``fmt[k]`` or 0 past
    the end); the index of its last character."""
    c = get(i)
    if c == ord("p"):
        nxt = get(i + 1)
        if _ends_word(nxt):
            out.number(arg, 8)
            return i
        if nxt in b"ku" and get(i + 2) == ord("s"):
            i += 2
            if not _ends_word(get(i + 1)):
                raise _Invalid(errno.EINVAL)
            out.string(memory, arg)
            return i
        if nxt in b"KxsS":
            out.number(arg, 8)
            return i + 1
        if nxt == ord("B"):
            out.text(f"0x{arg:x}".encode())
            return i + 1
        if nxt not in b"iI" or get(i + 2) not in b"46":
            raise _Invalid(errno.EINVAL)
        size = 4 if get(i + 2) == ord("4") else 16
        if MAX_BPRINTF_BIN_ARGS - out.pos < size:
            raise _Invalid(errno.ENOSPC)
        raw = copy_nofault(memory, arg, size) or bytes(size)
        out.text(_ip_text(nxt, get(i + 2), raw))
        return i + 2
    if c == ord("s"):
        if not _ends_word(get(i + 1)):
            raise _Invalid(errno.EINVAL)
        out.string(memory, arg)
        return i
    if c == ord("c"):
        out.char(arg)
        return i
    size = 4
    if get(i) == _LOWER_L:
        size, i = 8, i + 1
    if get(i) == _LOWER_L:
        i += 1
    if get(i) not in b"iduxX":
        raise _Invalid(errno.EINVAL)
    out.number(arg, size)
    return i


# -- step 2: render from the packed arguments ---------------------------------------------
class _Out:
    """The output: what fits in ``size`` bytes is kept, everything is counted."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.buf = bytearray()
        self.pos = 0

    def put(self, data: bytes) -> None:
        room = self.size - self.pos
        if room > 0:
            self.buf += data[:room]
        self.pos += len(data)

    def pad(self, ch: bytes, n: int) -> None:
        if n > 0:
            room = self.size - self.pos
            if room > 0:
                self.buf += ch * min(n, room)
            self.pos += n


class _Args:
    """Reads the packed arguments back, as ``bstr_printf``'s ``get_arg``."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def _take(self, size: int, align: int) -> int:
        self.pos = (self.pos + align - 1) & ~(align - 1)
        raw = self.data[self.pos : self.pos + size].ljust(size, b"\0")
        self.pos += size
        return int.from_bytes(raw, "little")

    def u32(self) -> int:
        return self._take(4, 4)

    def u64(self) -> int:
        return self._take(8, 4)

    def char(self) -> int:
        return self._take(1, 1)

    def cstr(self) -> bytes:
        end = self.data.find(0, self.pos)
        end = len(self.data) if end < 0 else end
        text = self.data[self.pos : end]
        self.pos = end + 1
        return text


def _pad(out: _Out, ch: bytes, width: int) -> int:
    """``while (--width >= 0) put(ch)``: the width left afterwards."""
    out.pad(ch, width)
    return min(width, 0) - 1


def _number(out: _Out, num: int, flags: int, base: int, width: int) -> None:
    """The kernel's ``number()`` with no precision and no ``#``."""
    if flags & LEFT:
        flags &= ~ZEROPAD
    sign = b""
    if flags & SIGN:
        if num >> 63:
            sign, num, width = b"-", -num & M64, width - 1
        elif flags & PLUS:
            sign, width = b"+", width - 1
        elif flags & SPACE:
            sign, width = b" ", width - 1
    spelled = {10: "{:d}", 8: "{:o}", 16: "{:x}" if flags & SMALL else "{:X}"}[base]
    digits = spelled.format(num).encode()
    width -= len(digits)
    if not flags & (ZEROPAD | LEFT):
        width = _pad(out, b" ", width)
    out.put(sign)
    if not flags & LEFT:
        width = _pad(out, b"0" if flags & ZEROPAD else b" ", width)
    out.put(digits)
    _pad(out, b" ", width)


def _string(out: _Out, text: bytes, flags: int, width: int) -> None:
    if width > len(text) and not flags & LEFT:
        out.pad(b" ", width - len(text))
    out.put(text)
    if width > len(text) and flags & LEFT:
        out.pad(b" ", width - len(text))


def _pointer(out: _Out, kind: int, value: int, flags: int, width: int) -> None:
    if kind in b"sS":
        _string(out, f"0x{value:x}".encode(), flags, width)
        return
    if width == -1:
        width, flags = 16, flags | ZEROPAD
    _number(out, value, (flags | SMALL) & ~SIGN, 16, width)


def bstr_printf(fmt: bytes, bin_args: bytes, size: int) -> tuple[bytes, int]:
    """Render ``fmt`` (already checked) with the packed arguments into ``size`` bytes.

    Gives the bytes the kernel stores (cut to ``size - 1`` and NUL-terminated;
    nothing when ``size`` is 0) and the length of the whole text without its NUL.
    """
    out, args = _Out(size), _Args(bin_args)
    n = len(fmt)
    i = 0
    while i < n:
        if fmt[i] != _PCT:
            j = fmt.find(b"%", i)
            j = n if j < 0 else j
            out.put(fmt[i:j])
            i = j
            continue
        i += 1
        flags = 0
        while i < n and fmt[i] in _FLAG_CHARS:
            flags |= _FLAG_CHARS[fmt[i]]
            i += 1
        width = -1
        if i < n and _isdigit(fmt[i]):
            width = 0
            while i < n and _isdigit(fmt[i]):
                width = sext((width * 10 + fmt[i] - 48) & M32, 32)
                i += 1
            width = max(-FIELD_WIDTH_MAX, min(width, FIELD_WIDTH_MAX))
        size8 = False
        if i < n and fmt[i] == _LOWER_L:
            size8, i = True, i + 1 + (i + 1 < n and fmt[i + 1] == _LOWER_L)
        conv = fmt[i] if i < n else 0
        i += 1
        if conv == _PCT:
            out.put(b"%")
        elif conv == ord("c"):
            ch = bytes([args.char()])
            if not flags & LEFT:
                out.pad(b" ", width - 1)
                width = min(width, 1) - 1
            out.put(ch)
            out.pad(b" ", width - 1)
        elif conv == ord("s"):
            _string(out, args.cstr(), flags, width)
        elif conv == ord("p"):
            kind = fmt[i] if i < n else 0
            if kind in b"SsxKe" or not _isalnum(kind):
                _pointer(out, kind, args.u64(), flags, width)
            elif out.pos < size:
                out.put(args.cstr())
            while i < n and _isalnum(fmt[i]):
                i += 1
        elif conv in b"diuxXo":
            base = {ord("o"): 8, ord("x"): 16, ord("X"): 16}.get(conv, 10)
            flags |= (SIGN if conv in b"di" else 0) | (SMALL if conv == ord("x") else 0)
            num = args.u64() if size8 else args.u32()
            if not size8 and flags & SIGN:
                num = sext(num, 32) & M64
            _number(out, num, flags, base, width)
        else:
            break
    if size > 0:
        text = bytes(out.buf[: size - 1]) if out.pos >= size else bytes(out.buf)
        return text + b"\0", out.pos
    return b"", out.pos


def bprintf(memory: AddressSpace, fmt: bytes, args: Sequence[int], size: int) -> tuple[bytes, int]:
    """Both steps: (stored bytes, text length), or (b"", -errno) for a bad format."""
    packed = bprintf_prepare(memory, fmt, args)
    if isinstance(packed, int):
        return b"", packed
    return bstr_printf(fmt, packed, size)


# -- the helpers -------------------------------------------------------------------------
def _snprintf(env: Runtime, dst: int, size: int, fmt_ptr: int, data: int, data_len: int) -> int:
    """bpf_snprintf: the length the text needs with its NUL, or -errno."""
    size &= M32
    data_len &= M32
    if data_len % 8 or data_len > MAX_BPRINTF_VARARGS * 8 or (data_len and not data):
        return neg(errno.EINVAL)
    fmt = _const_str(env.memory, fmt_ptr)
    if fmt is None:
        return neg(errno.EINVAL)
    raw = env.memory.read(data, data_len) if data_len else b""
    args = [int.from_bytes(raw[k : k + 8], "little") for k in range(0, data_len, 8)]
    text, length = bprintf(env.memory, fmt, args, size)
    if length < 0:
        return neg(-length)
    if size:
        env.memory.write(dst, text)
    return (length + 1) & M64


def _const_str(memory: AddressSpace, addr: int) -> bytes | None:
    """A NUL-terminated string (``ARG_PTR_TO_CONST_STR``) without its NUL; None if unterminated."""
    addr &= M64
    buf = memory.readable.get(addr >> SLOT_SHIFT)
    off = addr & SLOT_MASK
    if buf is None or off >= len(buf):
        return None
    nul = buf.find(0, off)
    return None if nul < 0 else bytes(buf[off:nul])


def parse_strtoull(buf: bytes, flags: int) -> tuple[int, int, bool] | int:
    """The kernel's ``__bpf_strtoull``: (chars consumed, value, negative) or ``-errno``.

    Leading white space and one ``-`` are skipped; base 0 guesses 8, 10 or 16
    from a ``0``/``0x`` prefix; only 63 characters after the sign are looked at.

    >>> parse_strtoull(b"  -0x1fz", 0)
    (7, 31, True)
    """
    base = flags & 0x1F
    if not buf or base not in (0, 8, 10, 16) or flags & ~0x1F:
        return -errno.EINVAL
    i = 0
    while i < len(buf) and _isspace(buf[i]):
        i += 1
    negative = i < len(buf) and buf[i] == ord("-")
    i += negative
    if i == len(buf):
        return -errno.EINVAL
    s = buf[i : i + 63]
    nul = s.find(0)
    s = s if nul < 0 else s[:nul]

    def ch(k: int) -> int:
        return s[k] if k < len(s) else 0

    if base == 0:
        if ch(0) == ord("0"):
            base = 16 if ch(1) | 0x20 == ord("x") and _isxdigit(ch(2)) else 8
        else:
            base = 10
    start = 2 if base == 16 and ch(0) == ord("0") and ch(1) | 0x20 == ord("x") else 0
    value, k, overflow = 0, start, False
    while True:
        c = ch(k)
        digit = c - 48 if _isdigit(c) else (c | 0x20) - 87 if 97 <= (c | 0x20) <= 102 else 99
        if digit >= base:
            break
        if value >> 60 and value > (M64 - digit) // base:
            overflow = True
        value = (value * base + digit) & M64
        k += 1
    if overflow:
        return -errno.ERANGE
    if k == start:
        return -errno.EINVAL
    return i + k, value, negative


def _strtox(env: Runtime, buf: int, buf_len: int, flags: int, res: int, *, signed: bool) -> int:
    env.memory.write(res, bytes(8))
    parsed = parse_strtoull(env.memory.read(buf, buf_len & M32), flags)
    if isinstance(parsed, int):
        return neg(-parsed)
    consumed, value, negative = parsed
    if signed:
        if negative:
            value = -value & M64
            if 0 < value < 1 << 63:
                return neg(errno.ERANGE)
        elif value >> 63:
            return neg(errno.ERANGE)
    elif negative:
        return neg(errno.EINVAL)
    env.memory.write(res, value.to_bytes(8, "little"))
    return consumed


def _strtol(env: Runtime, buf: int, buf_len: int, flags: int, res: int, *_: int) -> int:
    """bpf_strtol: chars consumed, the long through ``res``; -EINVAL, -ERANGE."""
    return _strtox(env, buf, buf_len, flags, res, signed=True)


def _strtoul(env: Runtime, buf: int, buf_len: int, flags: int, res: int, *_: int) -> int:
    """bpf_strtoul: as strtol, and a leading ``-`` is -EINVAL."""
    return _strtox(env, buf, buf_len, flags, res, signed=False)


def _strncmp(env: Runtime, s1: int, s1_sz: int, s2: int, *_: int) -> int:
    """bpf_strncmp: the kernel's ``strncmp(s1, s2, s1_sz)``: -1, 0 or 1."""
    size = s1_sz & M32
    if not size:
        return 0
    left = env.memory.read(s1, size)
    right = env.memory.read_cstr(s2, size)
    for k in range(size):
        a, b = left[k], right[k] if k < len(right) else 0
        if a != b:
            return 1 if a > b else M64
        if not a:
            break
    return 0


_STRTOX = Proto((Arg.PTR_TO_MEM, Arg.CONST_SIZE, Arg.ANYTHING, Arg.PTR_TO_LONG))
_OR_NULL, _OR_ZERO = Arg.PTR_TO_MEM_OR_NULL, Arg.CONST_SIZE_OR_ZERO
_SNPRINTF = Proto((_OR_NULL, _OR_ZERO, Arg.PTR_TO_CONST_STR, _OR_NULL, _OR_ZERO), gpl_only=True)

HELPERS = [
    Helper(HelperId.STRTOL, "strtol", _strtol, _STRTOX),
    Helper(HelperId.STRTOUL, "strtoul", _strtoul, _STRTOX),
    Helper(HelperId.SNPRINTF, "snprintf", _snprintf, _SNPRINTF),
    Helper(
        HelperId.STRNCMP,
        "strncmp",
        _strncmp,
        Proto((Arg.PTR_TO_MEM, Arg.CONST_SIZE, Arg.PTR_TO_CONST_STR)),
    ),
]
"""strtol, strtoul, snprintf, strncmp."""
