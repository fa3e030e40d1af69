"""The packet views of a socket filter's test run, for the cbpf tests.

``skb_of_test_run(frame)`` is the ``SkbInfo`` under which a classic program sees
what an eBPF socket filter sees in ``BPF_PROG_TEST_RUN`` (and ``Vm.test_run``)
of ``frame``: the data from the network header (run the classic program on
``frame[14:]``), the MAC header in front of it, ``protocol`` and ``pkt_type``
as ``eth_type_trans`` finds them on the loopback device, ``ifindex`` 1.
``frames_for_test_run()`` draws frames the test run takes (at least 14 bytes, full
IP headers for IP). This module builds values; it asserts nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import strategies as st

from ebpy.cbpf.interp import SkbInfo
from ebpy.progtypes._packet import ETH_P_IP, ETH_P_IPV6, eth_protocol, pkt_type_of


def skb_of_test_run(frame: bytes, *, cpu: int = 0, mark: int = 0) -> SkbInfo:
    """The ``SkbInfo`` of a socket filter's test run on ``frame`` (loopback, ifindex 1)."""
    return SkbInfo(
        protocol=eth_protocol(frame),
        pkttype=pkt_type_of(frame[:6]),
        ifindex=1,
        mark=mark,
        cpu=cpu,
        net_offset=0,
        mac_offset=-14,
        head=frame[:14],
    )


def frames_for_test_run(max_size: int = 100) -> st.SearchStrategy[bytes]:
    """Frames ``BPF_PROG_TEST_RUN`` takes: 14 bytes at least, full IP headers for IP."""

    def fix(frame: bytes) -> bytes:
        need = {ETH_P_IP: 34, ETH_P_IPV6: 54}.get(eth_protocol(frame), 14)
        return frame + bytes(max(0, need - len(frame)))

    ethertypes = st.sampled_from([b"\x08\x00", b"\x86\xdd", b"\x81\x00", b"\x08\x06", b"\x00\x40"])
    macs = st.one_of(
        st.just(bytes(6)),
        st.just(b"\xff" * 6),
        st.just(b"\x01\x00\x5e\x00\x00\x01"),
        st.binary(min_size=6, max_size=6),
    )
    return st.builds(
        lambda dst, src, et, rest: fix(dst + src + et + rest),
        macs,
        st.binary(min_size=6, max_size=6),
        ethertypes,
        st.binary(max_size=max_size - 14),
    )


GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "cbpf"
GOLDEN_NAMES = sorted(
    p.name.removesuffix(".dd.txt")
    for p in GOLDEN.glob("*.dd.txt")
    if not p.name.startswith("ip6_protochain")  # jumps backwards: the kernel refuses it
)
"""The tcpdump programs of ``tests/golden/cbpf`` that the kernel takes."""


@contextmanager
def pinned_to_one_cpu() -> Iterator[int]:
    """Run on one CPU (yielded), so that the kernel's ``#cpu`` is known."""
    before = os.sched_getaffinity(0)
    cpu = max(before)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, before)
