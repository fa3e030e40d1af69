"""bpf_snprintf and the shared bprintf formatter, bpf_strtol, bpf_strtoul, bpf_strncmp.

Expected texts follow the kernel (``tests/kernel/test_helpers_differential.py``
compares the same helpers with the running kernel on generated inputs).
"""

from __future__ import annotations

import errno
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.errors import MemoryAccessError
from ebpy.helpers.env import Runtime
from ebpy.helpers.linux import LINUX_HELPERS
from ebpy.helpers.registry import HelperImpl
from ebpy.helpers.strings import (
    MAX_BPRINTF_BIN_ARGS,
    bprintf,
    bprintf_prepare,
    bstr_printf,
    parse_strtoull,
)
from ebpy.isa.asm import assemble
from ebpy.memory import AddressSpace, RegionKind
from ebpy.uapi import HelperId
from ebpy.vm import Vm

U64 = (1 << 64) - 1
EINVAL = -errno.EINVAL & U64


def impl(helper: HelperId) -> HelperImpl:
    return LINUX_HELPERS[helper].impl


def put(rt: Runtime, data: bytes, writable: bool = True) -> int:
    return rt.memory.map(RegionKind.MEMORY, data, writable=writable).base


def fmt_text(fmt: bytes, *args: int | bytes, size: int = 256) -> tuple[bytes, int]:
    """Format with bytes arguments put in memory (as %s strings or IP addresses)."""
    mem = AddressSpace()
    values = [a if isinstance(a, int) else mem.map(RegionKind.MEMORY, a).base for a in args]
    return bprintf(mem, fmt, values, size)


# -- the formatter ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "args", "text"),
    [
        (b"plain", [], b"plain"),
        (b"100%%", [], b"100%"),
        (b"%d", [-5], b"-5"),
        (b"%d", [0xFFFF_FFFF], b"-1"),
        (b"%d", [0x1_0000_0002], b"2"),  # int: the low 32 bits
        (b"%ld", [U64], b"-1"),
        (b"%lld", [1 << 63], b"-9223372036854775808"),
        (b"%u", [U64], b"4294967295"),
        (b"%llu", [U64], b"18446744073709551615"),
        (b"%i", [7], b"7"),
        (b"%x %X", [0xBEEF, 0xBEEF], b"beef BEEF"),
        (b"%lx", [U64], b"ffffffffffffffff"),
        (b"%5d|", [42], b"   42|"),
        (b"%-5d|", [42], b"42   |"),
        (b"%05d", [-42], b"-0042"),
        (b"%+d %+d", [5, -5], b"+5 -5"),
        (b"% d", [5], b" 5"),
        (b"%+u %+x", [5, 5], b"5 5"),  # no sign for unsigned conversions
        (b"%-05d|", [3], b"3    |"),  # '-' wins over '0'
        (b"%1d", [123], b"123"),
        (b"%08x", [0xAB], b"000000ab"),
        (b"%c%c", [ord("o"), ord("k")], b"ok"),
        (b"%3c|%-3c|", [ord("a"), ord("b")], b"  a|b  |"),
        (b"%c", [0x141], b"A"),
        (b"%s!", [b"hi\0"], b"hi!"),
        (b"%5s|%-5s|", [b"ab\0", b"cd\0"], b"   ab|cd   |"),
        (b"%pks.", [b"kernel\0"], b"kernel."),
        (b"%pI4", [bytes([10, 0, 0, 1])], b"10.0.0.1"),
        (b"%pi4", [bytes([10, 0, 0, 1])], b"010.000.000.001"),
        (b"%pI6", [bytes(range(16))], b"0001:0203:0405:0607:0809:0a0b:0c0d:0e0f"),
        (b"%pi6", [bytes(range(16))], b"000102030405060708090a0b0c0d0e0f"),
        (b"%pI4abc|", [bytes(4)], b"0.0.0.0|"),  # letters after %p... are swallowed
        (b"%px", [0xFFFF_8880_0000_1234], b"ffff888000001234"),
        (b"%px", [0x12], b"0000000000000012"),
        (b"%4px|", [0x12], b"  12|"),
        (b"%p", [0x12], b"0000000000000012"),  # no hashing in userspace
        (b"%pK", [0x12], b"0000000000000012"),
        (b"%ps", [0x1234], b"0x1234"),
        (b"%pS", [0x1234], b"0x1234"),
        (b"%pB", [0x1234], b"0x1234"),
        (b"a\tb\n", [], b"a\tb\n"),
        (b"%d %d %d", [1, 2, 3, 4], b"1 2 3"),  # extra arguments are fine
    ],
)
def test_formats(fmt: bytes, args: list[int | bytes], text: bytes) -> None:
    out, length = fmt_text(fmt, *args)
    assert (out, length) == (text + b"\0", len(text))


@pytest.mark.parametrize(
    ("fmt", "nargs"),
    [
        (b"%d", 0),
        (b"%d %d", 1),
        (b"%", 1),
        (b"%5", 1),
        (b"%.2d", 1),  # no precision
        (b"%5.2d", 1),
        (b"%*d", 2),
        (b"%#x", 1),
        (b"%hd", 1),
        (b"%hhd", 1),
        (b"%zd", 1),
        (b"%Lf", 1),
        (b"%f", 1),
        (b"%n", 1),
        (b"%o", 1),
        (b"%lllx", 1),
        (b"%lc", 1),
        (b"%sabc", 1),  # %s must end a word
        (b"%pksx", 1),
        (b"%pz", 1),
        (b"%pI5", 1),
        (b"%pM", 1),
        (b"\x01", 0),  # only printable ASCII and white space
        (b"caf\xc3\xa9", 0),
        (b"%5%", 1),
    ],
)
def test_bad_formats(fmt: bytes, nargs: int) -> None:
    assert bprintf_prepare(AddressSpace(), fmt, [0] * nargs) == -errno.EINVAL
    assert fmt_text(fmt, *[0] * nargs) == (b"", -errno.EINVAL)


def test_bad_pointers_give_empty_strings_and_zero_addresses() -> None:
    assert fmt_text(b"[%s][%pks][%pus]", 0, 0, 0xDEAD_0000_0000) == (b"[][][]\0", 6)
    assert fmt_text(b"%pI4 %pi6", 0, 8) == (b"0.0.0.0 " + b"0" * 32 + b"\0", 40)


def test_long_string_argument_is_cut_at_the_args_buffer() -> None:
    out, length = fmt_text(b"%s", b"x" * 600 + b"\0", size=1024)
    assert length == MAX_BPRINTF_BIN_ARGS - 1 and out == b"x" * length + b"\0"


def test_args_buffer_overflow_is_enospc() -> None:
    long = b"y" * 505 + b"\0"
    assert fmt_text(b"%s %d", long, 1)[1] == 505 + 2
    assert fmt_text(b"%s %d", b"y" * 509 + b"\0", 1) == (b"", -errno.ENOSPC)
    assert fmt_text(b"%s %s", b"y" * 600 + b"\0", b"z\0") == (b"", -errno.ENOSPC)


@pytest.mark.parametrize("size", [0, 1, 2, 5, 6, 100])
def test_truncation(size: int) -> None:
    out, length = fmt_text(b"%s-%d", b"abc\0", 12, size=size)
    assert length == 6
    full = b"abc-12"
    assert out == (b"" if size == 0 else full[: size - 1] + b"\0")


def test_huge_width_is_counted_not_built() -> None:
    out, length = fmt_text(b"%99999999d", 1, size=4)
    assert length == (1 << 23) - 1 and out == b"   \0"  # the width is clamped to 2**23 - 1


def test_preformatted_pointer_past_the_end_is_not_counted() -> None:
    """bstr_printf copies a %pI4 text only while there is room left (a kernel quirk)."""
    assert fmt_text(b"%pI4", bytes([1, 2, 3, 4]), size=0)[1] == 0
    assert fmt_text(b"ab%pI4", bytes([1, 2, 3, 4]), size=2)[1] == 2
    assert fmt_text(b"ab%pI4", bytes([1, 2, 3, 4]), size=3) == (b"ab\0", 9)


_CONV = st.sampled_from(["%d", "%5u", "%-3x", "%08lX", "%+lld", "% i", "%c", "%s ", "%%", "z"])


@settings(max_examples=200, deadline=None)
@given(st.lists(_CONV, max_size=8), st.lists(st.integers(0, U64), min_size=8, max_size=8))
def test_truncated_output_is_a_prefix(parts: list[str], args: list[int]) -> None:
    fmt = "".join(parts).encode()
    mem = AddressSpace()
    strings = mem.map(RegionKind.MEMORY, b"str\0").base
    values = [strings if p.startswith("%s") else a for p, a in zip(parts, args, strict=False)]
    values += args[len(values) :]
    full, length = bprintf(mem, fmt, values, 1 << 16)
    assert len(full) == length + 1
    for size in (0, 1, length // 2 + 1, length, length + 1):
        out, n = bprintf(mem, fmt, values, size)
        assert n == length
        assert out == (b"" if size == 0 else full[: min(size, length + 1) - 1] + b"\0")


def test_bstr_printf_on_a_prepared_buffer() -> None:
    packed = bprintf_prepare(AddressSpace(), b"%c%d", [ord("x"), 7])
    assert isinstance(packed, bytes) and packed[:1] == b"x"
    assert struct.unpack_from("<i", packed, 4)[0] == 7  # numbers are u32-aligned
    assert bstr_printf(b"%c%d", packed, 10) == (b"x7\0", 2)


# -- bpf_snprintf -------------------------------------------------------------------------
def snprintf(rt: Runtime, size: int, fmt: bytes, args: list[int]) -> tuple[int, bytes]:
    dst = put(rt, b"\xee" * 32)
    data = struct.pack(f"<{len(args)}Q", *args)
    ret = impl(HelperId.SNPRINTF)(
        rt, dst, size, put(rt, fmt + b"\0", False), put(rt, data or b"\0"), len(data)
    )
    return ret, rt.memory.read(dst, 32)


def test_snprintf_writes_and_returns_the_size_needed() -> None:
    ret, out = snprintf(Runtime(), 32, b"n=%d", [12345])
    assert ret == 8 and out[:8] == b"n=12345\0" and out[8:] == b"\xee" * 24
    ret, out = snprintf(Runtime(), 4, b"n=%d", [12345])
    assert ret == 8 and out[:4] == b"n=1\0" and out[4:] == b"\xee" * 28


def test_snprintf_to_null_with_size_zero() -> None:
    rt = Runtime()
    fmt = put(rt, b"%d\0")
    data = put(rt, struct.pack("<Q", 99))
    assert impl(HelperId.SNPRINTF)(rt, 0, 0, fmt, data, 8) == 3


@pytest.mark.parametrize(
    ("fmt", "args", "data_len", "ret"),
    [
        (b"%d", [1], 4, EINVAL),  # data_len not a multiple of 8
        (b"%d", [1] * 13, 104, EINVAL),  # more than 12 arguments
        (b"%d %d", [1], 8, EINVAL),
        (b"%q", [1], 8, EINVAL),
        (b"%s %d", [0], 8, EINVAL),
    ],
)
def test_snprintf_errors(fmt: bytes, args: list[int], data_len: int, ret: int) -> None:
    rt = Runtime()
    data = put(rt, struct.pack(f"<{len(args)}Q", *args))
    dst = put(rt, bytes(16))
    assert impl(HelperId.SNPRINTF)(rt, dst, 16, put(rt, fmt + b"\0"), data, data_len) == ret
    assert rt.memory.read(dst, 16) == bytes(16)  # nothing written


def test_snprintf_null_args_with_a_length_and_unterminated_format() -> None:
    rt = Runtime()
    assert impl(HelperId.SNPRINTF)(rt, put(rt, bytes(8)), 8, put(rt, b"%d\0"), 0, 8) == EINVAL
    unterminated = put(rt, b"%d")
    assert impl(HelperId.SNPRINTF)(rt, put(rt, bytes(8)), 8, unterminated, 0, 0) == EINVAL


def test_snprintf_from_a_program() -> None:
    prog = assemble(
        """
        r1 = 0x6425 ll
        *(u64 *)(r10 -8) = r1
        r1 = -7
        *(u64 *)(r10 -16) = r1
        r1 = r10
        r1 += -32
        r2 = 16
        r3 = r10
        r3 += -8
        r4 = r10
        r4 += -16
        r5 = 8
        call 165
        r0 = *(u16 *)(r10 -32)
        exit
        """
    )
    assert Vm(prog).run() == int.from_bytes(b"-7", "little")


# -- strtol / strtoul -----------------------------------------------------------------------
def strto(helper: HelperId, text: bytes, flags: int = 0) -> tuple[int, int]:
    rt = Runtime()
    res = put(rt, b"\xff" * 8)
    ret = impl(helper)(rt, put(rt, text), len(text), flags, res, 0)
    value = int.from_bytes(rt.memory.read(res, 8), "little", signed=True)
    return (ret - (1 << 64) if ret >> 63 else ret), value


@pytest.mark.parametrize(
    ("text", "flags", "ret", "value"),
    [
        (b"123", 0, 3, 123),
        (b"  -42xyz", 0, 5, -42),
        (b"\t\n\x0b\x0c\r 7", 0, 7, 7),
        (b"\xa07", 0, 2, 7),  # the kernel's isspace knows 0xA0
        (b"0x1F", 0, 4, 31),
        (b"0X1f", 16, 4, 31),
        (b"1f", 16, 2, 31),
        (b"0x", 0, 1, 0),  # base 0: "0x" not followed by a hex digit is octal 0
        (b"0x", 16, -errno.EINVAL, 0),  # base 16 skips "0x" even then
        (b"017", 0, 3, 15),
        (b"018", 0, 2, 1),
        (b"019", 10, 3, 19),
        (b"777", 8, 3, 511),
        (b"8", 8, -errno.EINVAL, 0),
        (b"+5", 0, -errno.EINVAL, 0),  # no '+'
        (b"-", 0, -errno.EINVAL, 0),
        (b"   ", 0, -errno.EINVAL, 0),
        (b"", 0, -errno.EINVAL, 0),
        (b"abc", 0, -errno.EINVAL, 0),
        (b"12", 2, -errno.EINVAL, 0),  # base 2 is not allowed
        (b"12", 0x20, -errno.EINVAL, 0),  # unknown flags
        (b"9223372036854775807", 0, 19, (1 << 63) - 1),
        (b"9223372036854775808", 0, -errno.ERANGE, 0),
        (b"-9223372036854775808", 0, 20, -(1 << 63)),
        (b"-9223372036854775809", 0, -errno.ERANGE, 0),
        (b"99999999999999999999", 0, -errno.ERANGE, 0),
        (b"0" * 70 + b"7", 0, 63, 0),  # only 63 characters after the sign are read
        (b"-" + b"0" * 62 + b"7", 0, 64, -7),
        (b"12\x0034", 0, 2, 12),
    ],
)
def test_strtol(text: bytes, flags: int, ret: int, value: int) -> None:
    assert strto(HelperId.STRTOL, text, flags) == (ret, value)


@pytest.mark.parametrize(
    ("text", "flags", "ret", "value"),
    [
        (b"18446744073709551615", 0, 20, -1),
        (b"18446744073709551616", 0, -errno.ERANGE, 0),
        (b"-1", 0, -errno.EINVAL, 0),
        (b"-x", 0, -errno.EINVAL, 0),
        (b" 0xff", 0, 5, 255),
    ],
)
def test_strtoul(text: bytes, flags: int, ret: int, value: int) -> None:
    assert strto(HelperId.STRTOUL, text, flags) == (ret, value)


@settings(max_examples=100, deadline=None)
@given(st.integers(-(1 << 63), (1 << 63) - 1), st.sampled_from([0, 10]))
def test_strtol_reads_what_python_writes(n: int, base: int) -> None:
    text = str(n).encode()
    if base == 0 and text.lstrip(b"-").startswith(b"0") and n:
        return
    assert strto(HelperId.STRTOL, text + b" tail", base) == (len(text), n)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, (1 << 64) - 1))
def test_strtoul_hex(n: int) -> None:
    text = f"{n:#x}".encode()
    assert strto(HelperId.STRTOUL, text, 0) == (len(text), n - (1 << 64) if n >> 63 else n)


def test_parse_strtoull_is_the_shared_core() -> None:
    assert parse_strtoull(b"-12", 10) == (3, 12, True)
    assert parse_strtoull(b"x", 10) == -errno.EINVAL


def test_strtol_bad_result_pointer_stops_the_program() -> None:
    rt = Runtime()
    with pytest.raises(MemoryAccessError):
        impl(HelperId.STRTOL)(rt, put(rt, b"1"), 1, 0, 0, 0)


# -- strncmp -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("s1", "s2", "ret"),
    [
        (b"abc", b"abc", 0),
        (b"abd", b"abc", 1),
        (b"abb", b"abc", -1),
        (b"ab", b"abc", 0),  # only s1_sz bytes
        (b"abcd", b"abc", 1),
        (b"abc\0zz", b"abc", 0),  # stops at the NUL
        (b"ab\0", b"abc", -1),
        (b"\xff", b"a", 1),  # unsigned bytes
        (b"", b"abc", 0),  # size 0
        (b"abx", b"abc", 1),
    ],
)
def test_strncmp(s1: bytes, s2: bytes, ret: int) -> None:
    rt = Runtime()
    got = impl(HelperId.STRNCMP)(rt, put(rt, s1 or b"\0"), len(s1), put(rt, s2 + b"\0"), 0, 0)
    assert got == ret & U64


def test_strncmp_compares_only_s1_sz_bytes() -> None:
    rt = Runtime()
    assert impl(HelperId.STRNCMP)(rt, put(rt, b"abX"), 2, put(rt, b"abc\0"), 0, 0) == 0


def test_helpers_are_registered() -> None:
    for helper in (HelperId.SNPRINTF, HelperId.STRTOL, HelperId.STRTOUL, HelperId.STRNCMP):
        assert LINUX_HELPERS[helper].proto is not None
    assert LINUX_HELPERS[HelperId.SNPRINTF].proto.gpl_only  # type: ignore[union-attr]
