"""Fixed-width integer helpers: the one place where u32/u64/s32/s64 wrap-around lives.

Every module that needs to wrap or sign-convert a machine integer calls these
instead of writing its own masks. This is not a bignum or bit-vector library.

>>> u64(-1) == 0xFFFF_FFFF_FFFF_FFFF
True
>>> s32(0xFFFF_FFFF)
-1
>>> sext(0x80, 8)
-128
"""

from __future__ import annotations

M8 = 0xFF
M16 = 0xFFFF
M32 = 0xFFFF_FFFF
M64 = 0xFFFF_FFFF_FFFF_FFFF
SIGN32 = 0x8000_0000
SIGN64 = 0x8000_0000_0000_0000

S16_MIN, S16_MAX = -(1 << 15), (1 << 15) - 1
S32_MIN, S32_MAX = -(1 << 31), (1 << 31) - 1
S64_MIN, S64_MAX = -(1 << 63), (1 << 63) - 1


def u32(x: int) -> int:
    """Wrap to an unsigned 32-bit value."""
    return x & M32


def u64(x: int) -> int:
    """Wrap to an unsigned 64-bit value."""
    return x & M64


def s32(x: int) -> int:
    """Wrap to a signed 32-bit value."""
    x &= M32
    return x - (1 << 32) if x & SIGN32 else x


def s64(x: int) -> int:
    """Wrap to a signed 64-bit value."""
    x &= M64
    return x - (1 << 64) if x & SIGN64 else x


def s16(x: int) -> int:
    """Wrap to a signed 16-bit value."""
    x &= M16
    return x - (1 << 16) if x & 0x8000 else x


def sext(x: int, bits: int) -> int:
    """Sign-extend the low ``bits`` of ``x`` to a Python int."""
    mask = (1 << bits) - 1
    x &= mask
    return x - (1 << bits) if x >> (bits - 1) else x


def fits_signed(x: int, bits: int) -> bool:
    """True when ``x`` fits a two's-complement field of ``bits`` bits."""
    return -(1 << (bits - 1)) <= x < (1 << (bits - 1))


def fits_either(x: int, bits: int) -> bool:
    """True when ``x`` fits ``bits`` bits read as signed or as unsigned."""
    return -(1 << (bits - 1)) <= x < (1 << bits)


def bswap(x: int, bits: int) -> int:
    """Reverse the byte order of the low ``bits`` of ``x``."""
    n = bits // 8
    return int.from_bytes((x & ((1 << bits) - 1)).to_bytes(n, "little"), "big")
