"""``ebpy filter -i``: live capture in a network namespace, over a veth pair (root only).

Each test makes a namespace and a veth pair (one end in the namespace), runs
``ebpy filter -i`` in the namespace (``ip netns exec``), sends frames from the
other end with an ``AF_PACKET`` socket, and checks what the capture printed
or wrote: only the frames the filter accepts, byte for byte (the filter runs
in the kernel), tcpdump's three counting lines at the end, a VLAN tag the
kernel took off put back, and the snap length applied.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ebpy.pcap import read_packets
from ebpy.pcap import synth as s

IP = shutil.which("ip")
A, B = bytes((10, 9, 9, 1)), bytes((10, 9, 9, 2))
SRC_MAC = bytes.fromhex("02000000aa01")

pytestmark = [
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root"),
    pytest.mark.skipif(IP is None, reason="iproute2 (ip) is not installed"),
]


def _ip(*args: str) -> None:
    assert IP is not None
    subprocess.run([IP, *args], check=True, capture_output=True)


@pytest.fixture
def veth() -> Iterator[tuple[str, str, str]]:
    """(namespace, our end, the end inside the namespace)."""
    tag = f"{os.getpid() % 100000}"
    ns, near, far = f"ebpyt{tag}", f"ebpa{tag}", f"ebpb{tag}"
    try:
        _ip("netns", "add", ns)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot make a network namespace: {e.stderr.decode().strip()}")
    try:
        _ip("link", "add", near, "type", "veth", "peer", "name", far, "netns", ns)
        _ip("link", "set", near, "up")
        _ip("netns", "exec", ns, "ip", "link", "set", far, "up")
        yield ns, near, far
    finally:
        subprocess.run([IP or "ip", "link", "del", near], capture_output=True, check=False)
        subprocess.run([IP or "ip", "netns", "del", ns], capture_output=True, check=False)


def start(ns: str, *args: str) -> subprocess.Popen[str]:
    """``ebpy filter ARGS`` inside ``ns``, once it says it is listening."""
    assert IP is not None
    proc = subprocess.Popen(
        [IP, "netns", "exec", ns, sys.executable, "-m", "ebpy.cli.main", "filter", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    line = proc.stderr.readline()
    assert line.startswith("listening on "), line + proc.stderr.read()
    return proc


def udp_frame(dport: int, payload: bytes = b"hello", *, vlan: int | None = None) -> bytes:
    packet = s.ipv4(A, B, 17, s.udp(A, B, 4000, dport, payload))
    return s.ethernet(s.MACS[1], SRC_MAC, s.ETH_P_IP, packet, vlan)


def send(iface: str, frames: list[bytes]) -> None:
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as sock:
        sock.bind((iface, 0))
        for frame in frames:
            sock.send(frame)


def finish(proc: subprocess.Popen[str], timeout: float = 10) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return out, err


def test_writes_what_the_kernel_filter_keeps(veth: tuple[str, str, str], tmp_path: Path) -> None:
    ns, near, far = veth
    out_file = tmp_path / "live.pcap"
    proc = start(ns, "-i", far, "-c", "3", "-w", str(out_file), "udp port 9999")
    frames = [
        udp_frame(p, bytes([i]) * 8) for i, p in enumerate((9999, 1234, 9999, 53, 9999, 9999))
    ]
    send(near, frames)
    _, err = finish(proc)
    captured = read_packets(out_file)
    assert [p.data for p in captured] == [frames[0], frames[2], frames[4]]
    assert all(p.orig_len == len(p.data) for p in captured)
    lines = err.splitlines()
    assert lines[0] == "3 packets captured"
    received = int(lines[1].split()[0])
    assert received >= 3 and lines[1].endswith(" packets received by filter")
    assert lines[2] == "0 packets dropped by kernel"


def test_prints_summaries_until_interrupted(veth: tuple[str, str, str]) -> None:
    ns, near, far = veth
    proc = start(ns, "-i", far, "-tt", "udp port 7777")
    send(near, [udp_frame(7777), udp_frame(80), udp_frame(7777, b"again")])
    assert proc.stdout is not None
    lines = [proc.stdout.readline(), proc.stdout.readline()]
    proc.send_signal(signal.SIGINT)
    _, err = finish(proc)
    assert [line.split(" ", 1)[1] for line in lines] == [
        "IP 10.9.9.1.4000 > 10.9.9.2.7777: UDP, length 5\n",
        "IP 10.9.9.1.4000 > 10.9.9.2.7777: UDP, length 5\n",
    ]
    stamp = float(lines[0].split(" ", 1)[0])
    assert abs(stamp - time.time()) < 60
    assert "2 packets captured" in err.splitlines()


def test_vlan_tag_and_snap_length(veth: tuple[str, str, str], tmp_path: Path) -> None:
    ns, near, far = veth
    out_file = tmp_path / "vlan.pcap"
    proc = start(
        ns, "-i", far, "-c", "2", "-s", "64", "-w", str(out_file), "ether src 02:00:00:00:aa:01"
    )
    tagged = udp_frame(9, b"v" * 100, vlan=42)
    plain = udp_frame(9, b"p" * 100)
    send(near, [tagged, plain])
    finish(proc)
    first, second = read_packets(out_file)
    # the tag is back where it was (veth may take it off into the packet's metadata)
    assert first.data == tagged[:64] and first.orig_len == len(tagged)
    assert second.data == plain[:64] and second.orig_len == len(plain)


def test_a_program_the_kernel_refuses_runs_in_userspace(
    veth: tuple[str, str, str], tmp_path: Path
) -> None:
    # ip protochain loops backwards: SO_ATTACH_FILTER refuses it, libpcap then
    # filters in userspace, and so do we
    ns, near, far = veth
    out_file = tmp_path / "chain.pcap"
    proc = start(ns, "-i", far, "-c", "2", "-w", str(out_file), "ip protochain 17")
    tcp = s.ethernet(s.MACS[1], SRC_MAC, s.ETH_P_IP, s.ipv4(A, B, 6, s.tcp(A, B, 1, 2)))
    frames = [tcp, udp_frame(1), tcp, udp_frame(2)]
    send(near, frames)
    finish(proc)
    assert [p.data for p in read_packets(out_file)] == [frames[1], frames[3]]


def test_vlan_filter_live_sees_the_stripped_tag(veth: tuple[str, str, str], tmp_path: Path) -> None:
    ns, near, far = veth
    out_file = tmp_path / "vlan.pcap"
    proc = start(ns, "-i", far, "-c", "1", "-w", str(out_file), "vlan 42")
    tagged = udp_frame(9, b"t", vlan=42)
    send(near, [udp_frame(9, b"p"), udp_frame(9, b"o", vlan=7), tagged])
    finish(proc)
    assert [p.data for p in read_packets(out_file)] == [tagged]


@pytest.mark.skipif(not Path("/sys/class/net/lo").exists(), reason="no loopback interface")
def test_loopback_packets_are_seen_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "ebpy.cli.main", "filter", "-i", "lo", "-c", "2", "udp port 9"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    assert proc.stderr.readline().startswith("listening on ")
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for payload in (b"one", b"two!"):
            sock.sendto(payload, ("127.0.0.1", 9))
            time.sleep(0.05)
    out, _ = finish(proc)
    lengths = [line.rsplit(" ", 1)[1] for line in out.splitlines()]
    assert lengths == ["3", "4"]  # each datagram once, not once going out and once coming in
