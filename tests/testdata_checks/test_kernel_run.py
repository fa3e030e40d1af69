"""The kernel runs the corpus's packet programs with the verdicts their comments promise.

Each case loads one object with bpftool (as in ``test_kernel_load.py``), runs
one program once with ``bpftool prog run`` (BPF_PROG_TEST_RUN) on a frame
built here, and compares the return value, and for some the packet that comes
back, with what the C file's comment says. Other tests (the VM, the kernel
backend) may rely on those comments; this keeps them honest.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.testdata_checks import loading
from tests.testdata_checks.corpus import objects

pytestmark = pytest.mark.kernel

ETH_IP = b"\x02" * 6 + b"\x04" * 6 + b"\x08\x00"


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = int(sum(struct.unpack(f"!{len(data) // 2}H", data)))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ipv4(src: bytes, dst: bytes, proto: int, payload: bytes) -> bytes:
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", _csum(hdr)) + hdr[12:] + payload


def _tcp(src: bytes, dst: bytes, sport: int, dport: int) -> bytes:
    seg = struct.pack("!HHIIBBHHH", sport, dport, 1, 0, 5 << 4, 2, 1000, 0, 0) + b"hello"
    check = _csum(src + dst + struct.pack("!BBH", 0, 6, len(seg)) + seg)
    return seg[:16] + struct.pack("!H", check) + seg[18:]


A, B, C = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), bytes([10, 0, 0, 9])
FROM_A = ETH_IP + _ipv4(A, C, 6, _tcp(A, C, 1000, 2000))
FROM_B = ETH_IP + _ipv4(B, C, 6, _tcp(B, C, 1000, 2000))
TO_8080 = ETH_IP + _ipv4(B, C, 6, _tcp(B, C, 1234, 8080))


def _dport_rewritten(out: bytes) -> bool:
    seg = out[34:]
    pseudo = B + C + struct.pack("!BBH", 0, 6, len(seg))
    return struct.unpack("!H", seg[2:4])[0] == 80 and _csum(pseudo + seg) == 0


def _macs_swapped(out: bytes) -> bool:
    return out[:6] == FROM_B[6:12] and out[6:12] == FROM_B[:6]


# (object, program, frame, expected return value, check of the packet out or None)
CASES: list[tuple[str, str, bytes, int, Callable[[bytes], bool] | None]] = [
    ("xdp_drop_src", "xdp_drop_src", FROM_A, 1, None),
    ("xdp_drop_src", "xdp_drop_src", FROM_B, 2, None),
    ("tc_rewrite_port", "tc_rewrite_dport", TO_8080, 0, _dport_rewritten),
    ("tail_calls", "tail_entry", FROM_B, 2, None),
    ("globals", "globals_count", ETH_IP + b"\0" * 20, 1, None),
    ("globals", "globals_count", ETH_IP + b"\0" * 66, 2, None),  # longer than threshold (60)
    ("btf_maps", "maps_xdp", FROM_B, 2, None),
    ("multi_prog", "multi_xdp_pass", FROM_B, 2, None),
    ("multi_prog", "multi_xdp_drop", FROM_B, 1, None),
    ("multi_prog", "multi_xdp_tx", FROM_B, 3, _macs_swapped),
    # a socket filter sees the frame from the IP header on
    ("multi_prog", "multi_sock_all", FROM_B, len(FROM_B) - 14, None),
    ("multi_prog", "multi_sock_none", FROM_B, 0, None),
    ("multi_prog", "multi_tc_ok", FROM_B, 0, None),
    ("multi_prog", "multi_tc_shot", FROM_B, 2, None),
]


@pytest.mark.parametrize(
    ("name", "prog", "frame", "retval", "check"),
    CASES,
    ids=[f"{c[1]}-{i}" for i, c in enumerate(CASES)],
)
def test_kernel_verdict(
    name: str,
    prog: str,
    frame: bytes,
    retval: int,
    check: Callable[[bytes], bool] | None,
    bpftool: str,
    pin_dir: Path,
    tmp_path: Path,
) -> None:
    obj = objects()[name]
    assert prog in {p["name"] for p in obj["programs"]}
    loading.unpin_by_name(obj)
    try:
        res = loading.load(bpftool, name, obj, pin_dir)
        assert res.returncode == 0, res.stderr[-3000:]
        data_in, data_out = tmp_path / "in.bin", tmp_path / "out.bin"
        data_in.write_bytes(frame)
        run = loading.run(
            bpftool, "prog", "run", "pinned", str(pin_dir / prog),
            "data_in", str(data_in), "data_out", str(data_out),
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        got = int(run.stdout.split("Return value:")[1].split(",")[0])
        assert got == retval
        if check is not None:
            assert check(data_out.read_bytes())
    finally:
        loading.unpin_by_name(obj)
