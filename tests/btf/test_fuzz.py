"""Fuzzing the BTF readers: mutated, truncated and extended inputs raise only BtfError
(ElfError for broken ELF files), and whatever parses also prints and round-trips."""

from __future__ import annotations

import contextlib
import struct
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.btf.dump_raw import dump_raw
from ebpy.btf.encode import encode_btf
from ebpy.btf.ext import parse_btf_ext
from ebpy.btf.parse import parse_btf
from ebpy.btf.types import Btf
from ebpy.elf.btf_sections import load_object_btf, read_btf_sections
from ebpy.errors import BtfError, ElfError
from tests.btf.strategies import btf_tables
from tests.btf.test_parse import every_kind

TESTDATA = Path(__file__).resolve().parents[1] / "testdata"
OBJECTS = [
    TESTDATA / "btf" / "kinds.o",
    TESTDATA / "btf" / "kinds_eb.o",
    TESTDATA / "disasm" / "globals.o",
]


def _sections(obj: Path) -> tuple[bytes, bytes]:
    btf, ext = read_btf_sections(obj.read_bytes())
    assert btf is not None and ext is not None
    return btf, ext


SEEDS_BTF = [_sections(o)[0] for o in OBJECTS] + [
    every_kind("<")[0].data(),
    every_kind(">")[0].data(),
]
SEEDS_EXT = [_sections(o) for o in OBJECTS]


@st.composite
def mutated(draw: st.DrawFn, data: bytes) -> bytes:
    """``data`` with some bytes or aligned words replaced, then cut or extended."""
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        if draw(st.booleans()) and len(out) >= 4:
            words = len(out) // 4
            body = st.integers(min(6, words - 1), words - 1)  # past a 24-byte header, mostly
            pos = draw(st.one_of(body, body, body, st.integers(0, words - 1))) * 4
            word = draw(
                st.one_of(
                    st.integers(0, 0xFFFFFFFF),
                    st.sampled_from([0, 1, 0xFFFF, 0x10000, 0x80000000, 0xFFFFFFFF]),
                    st.integers(0, 40),
                )
            )
            out[pos : pos + 4] = struct.pack("<I", word)
        elif out:
            pos = draw(st.integers(0, len(out) - 1))
            out[pos] = draw(st.integers(0, 255))
    cut = draw(st.one_of(st.none(), st.none(), st.none(), st.integers(0, len(out))))
    if cut is not None:
        del out[cut:]
    out += draw(st.binary(max_size=8))
    return bytes(out)


def check_parsed(btf: Btf) -> None:
    dump_raw(btf)
    again = parse_btf(encode_btf(btf), base=btf.base)
    assert list(again.types) == list(btf.types)


@settings(max_examples=600, deadline=None)
@given(data=st.sampled_from(SEEDS_BTF).flatmap(mutated))
def test_mutated_btf(data: bytes) -> None:
    try:
        btf = parse_btf(data)
    except BtfError as exc:
        assert exc.section == ".BTF"
        assert exc.offset is None or 0 <= exc.offset <= len(data)
        return
    check_parsed(btf)


@settings(max_examples=200, deadline=None)
@given(data=st.sampled_from(SEEDS_BTF).flatmap(mutated))
def test_mutated_split_btf(data: bytes) -> None:
    base = parse_btf(SEEDS_BTF[0])
    try:
        btf = parse_btf(data, base=base)
    except BtfError:
        return
    check_parsed(btf)


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=200))
def test_random_bytes(data: bytes) -> None:
    with contextlib.suppress(BtfError):
        parse_btf(b"\x9f\xeb\x01\x00" + data)
    with contextlib.suppress(BtfError):
        parse_btf_ext(b"\x9f\xeb\x01\x00" + data, b"\0a\0")


@settings(max_examples=100, deadline=None)
@given(btf=btf_tables(), cut=st.integers(0, 400))
def test_truncated_encodings(btf: Btf, cut: int) -> None:
    data = encode_btf(btf)
    with contextlib.suppress(BtfError):
        parse_btf(data[: min(cut, len(data))])


@settings(max_examples=400, deadline=None)
@given(pair=st.sampled_from(SEEDS_EXT).flatmap(lambda p: st.tuples(st.just(p[0]), mutated(p[1]))))
def test_mutated_btf_ext(pair: tuple[bytes, bytes]) -> None:
    btf = parse_btf(pair[0])
    try:
        parse_btf_ext(pair[1], btf)
    except BtfError as exc:
        assert exc.section == ".BTF.ext"


@settings(max_examples=150, deadline=None)
@given(data=st.sampled_from([o.read_bytes() for o in OBJECTS]).flatmap(mutated))
def test_mutated_objects(data: bytes) -> None:
    with contextlib.suppress(ElfError, BtfError):
        load_object_btf(data)
