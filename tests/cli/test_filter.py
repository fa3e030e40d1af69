"""``ebpy filter``: printing programs, filtering captures to summaries or files, errors.

Programs must be what ``ebpy.cbpf.pcap.compile_filter`` makes, printed as
``ebpy.cbpf.text.dump`` prints them (and, for expressions where the compiler
matches libpcap, as tcpdump's golden ``-d`` output); captures are built here
from ``ebpy.pcap.synth`` frames with what the filter should keep worked out
from the frames themselves. The comparison with tcpdump over the 20,000-packet
corpus is ``tests/filter_diff``.
"""

from __future__ import annotations

import struct
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from ebpy.cbpf.pcap import compile_filter
from ebpy.cbpf.text import dump
from ebpy.cli.main import EXIT_FAILED, EXIT_USAGE, main
from ebpy.pcap import LinkType, Packet, PcapngWriter, PcapReader, read_packets, write_packets
from ebpy.pcap import synth as s
from ebpy.pcap.summary import Summarizer

ROOT = Path(__file__).resolve().parents[2]
GOLDEN_D = ROOT / "tests" / "golden" / "pcapfilter" / "EN10MB.d.txt"
T0 = 1_700_000_000 * 10**9


@click.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def _entry(args: tuple[str, ...]) -> None:
    main(list(args))


def invoke(*args: str) -> tuple[int, str, str]:
    """Run ``ebpy ARGS`` as the console script does; (exit code, stdout, stderr).
    (The leading ``--`` makes the wrapper pass every argument on, ``--`` included.)"""
    result = CliRunner().invoke(_entry, ["--", *args])
    assert "Traceback" not in result.stdout + result.stderr
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def frames() -> list[bytes]:
    """Frames of each kind: TCP to port 80 and 22, UDP/53, ICMP, IPv6 TCP, ARP."""
    a, b = bytes((10, 0, 0, 1)), bytes((192, 168, 1, 1))
    a6, b6 = s.HOSTS6[0], s.SERVERS6[0]
    m1, m2 = s.MACS[0], s.MACS[1]
    return [
        s.ethernet(m2, m1, s.ETH_P_IP, s.ipv4(a, b, 6, s.tcp(a, b, 4000, 80, flags=s.TCP_SYN, seq=7))),
        s.ethernet(m2, m1, s.ETH_P_IP, s.ipv4(a, b, 6, s.tcp(a, b, 4001, 22, b"x", flags=0x18, seq=1, ack=2))),
        s.ethernet(m2, m1, s.ETH_P_IP, s.ipv4(a, b, 17, s.udp(a, b, 5000, 53, b"\0" * 4))),
        s.ethernet(m2, m1, s.ETH_P_IP, s.ipv4(b, a, 1, s.icmp_echo(1, 2))),
        s.ethernet(m2, m1, s.ETH_P_IPV6, s.ipv6(a6, b6, 6, s.tcp(a6, b6, 4002, 80, flags=s.TCP_SYN))),
        s.ethernet(s.BROADCAST, m1, s.ETH_P_ARP, s.arp(1, m1, a, bytes(6), b)),
    ]  # fmt: skip


def packets() -> list[Packet]:
    return [Packet(T0 + 1_000_000 * i + 7, f, len(f)) for i, f in enumerate(frames())]


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    path = tmp_path / "in.pcap"
    write_packets(path, packets())
    return path


def golden_d() -> dict[str, str]:
    blocks: dict[str, str] = {}
    expr = ""
    for line in GOLDEN_D.read_text().splitlines(keepends=True):
        if line.startswith("### "):
            expr = line[4:].rstrip("\n")
            blocks[expr] = ""
        else:
            blocks[expr] += line
    return blocks


# -- printing programs ----------------------------------------------------------------------
@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("expr", ["ip", "tcp port 80", "udp and not port 53", "vlan 100 and tcp"])
def test_dump_levels(level: int, expr: str) -> None:
    code, out, err = invoke("filter", "-" + "d" * level, *expr.split())
    assert code == 0
    assert out == dump(compile_filter(expr), level)
    assert err == "Warning: assuming Ethernet\n"


@pytest.mark.parametrize("expr", ["ip", "tcp", "udp port 53", "host 10.0.0.1", "arp or rarp"])
def test_dump_is_tcpdumps(expr: str) -> None:
    code, out, _ = invoke("filter", "-d", expr)
    assert code == 0 and out == golden_d()[expr]


def test_unoptimized_and_link_type() -> None:
    code, out, _ = invoke("filter", "-O", "-d", "tcp")
    assert out == dump(compile_filter("tcp", optimize=False), 1)
    code, out, err = invoke("filter", "-y", "RAW", "-d", "ip")
    assert code == 0 and out == dump(compile_filter("ip", linktype=101), 1) and err == ""
    code, out, _ = invoke("filter", "-y", "113", "-dd", "ip")
    assert out == dump(compile_filter("ip", linktype=113), 2)
    code, out, _ = invoke("filter", "-s", "96", "-d", "ip")
    assert "ret      #96" in out


def test_dump_takes_the_link_type_of_the_file(tmp_path: Path) -> None:
    path = tmp_path / "sll.pcap"
    ip = s.ipv4(bytes(4), bytes(4), 17, s.udp(bytes(4), bytes(4), 1, 2))
    frame = struct.pack(">HHH8sH", 0, 1, 6, bytes(8), 0x0800) + ip
    write_packets(path, [Packet(T0, frame, len(frame), LinkType.LINUX_SLL)])
    code, out, err = invoke("filter", "-r", str(path), "-d", "udp")
    assert code == 0 and out == dump(compile_filter("udp", linktype=113), 1) and err == ""


def test_empty_expression_keeps_everything(capture: Path) -> None:
    code, out, _ = invoke("filter", "-d")
    assert out == "(000) ret      #262144\n"
    code, out, _ = invoke("filter", "-r", str(capture), "-tt")
    assert code == 0 and len(out.splitlines()) == len(frames())


# -- reading a capture ----------------------------------------------------------------------
def test_summaries_of_kept_packets(capture: Path) -> None:
    code, out, err = invoke("filter", "-r", str(capture), "-tt", "tcp", "port", "80")
    assert code == 0
    summarizer = Summarizer(timestamps="epoch")
    expected = [summarizer.line(p) for p in packets()]
    assert out.splitlines() == [expected[0], expected[4]]
    assert (
        err == f"reading from file {capture}, link-type EN10MB (Ethernet), snapshot length 262144\n"
    )


@pytest.mark.parametrize(
    ("flags", "check"),
    [
        (["-t"], lambda line: line.startswith("IP ")),
        (["-tt"], lambda line: line.startswith("1700000000.000000 IP ")),
        ([], lambda line: line[2] == ":" and line[8] == "." and line[15:19] == " IP "),
        (["-e", "-t"], lambda line: line.startswith("02:00:00:00:00:01 > 02:00:00:00:00:02, ethertype IPv4")),
        (["-n", "-t"], lambda line: line.startswith("IP 10.0.0.1.4000 > 192.168.1.1.80")),
    ],
)  # fmt: skip
def test_print_options(capture: Path, flags: list[str], check: object) -> None:
    code, out, _ = invoke("filter", "-r", str(capture), *flags, "-c", "1", "ip")
    assert code == 0 and len(out.splitlines()) == 1
    assert callable(check) and check(out.splitlines()[0]), out


def test_count_stops_early(capture: Path, tmp_path: Path) -> None:
    code, out, _ = invoke("filter", "-r", str(capture), "-c", "2", "tcp")
    assert code == 0 and len(out.splitlines()) == 2
    out_file = tmp_path / "two.pcap"
    invoke("filter", "-r", str(capture), "-c", "2", "-w", str(out_file))
    assert [p.data for p in read_packets(out_file)] == frames()[:2]


def test_write_keeps_link_type_snaplen_and_time(tmp_path: Path) -> None:
    src = tmp_path / "ns.pcap"
    with open(src, "wb") as f:
        from ebpy.pcap import PcapWriter

        writer = PcapWriter(f, snaplen=1500, nanosecond=True)
        for p in packets():
            writer.write(p)
        writer.close()
    out = tmp_path / "out.pcap"
    code, stdout, _ = invoke("filter", "-r", str(src), "-w", str(out), "udp or icmp")
    assert code == 0 and stdout == ""
    with PcapReader(out) as reader:
        assert (reader.linktype, reader.snaplen, reader.nanosecond) == (1, 1500, True)
        kept = list(reader)
    assert [(p.ts_ns, p.data, p.orig_len) for p in kept] == [
        (p.ts_ns, p.data, p.orig_len) for p in packets()[2:4]
    ]


def test_pcapng_input(tmp_path: Path) -> None:
    src = tmp_path / "in.pcapng"
    with PcapngWriter(src) as writer:
        for p in packets():
            writer.write(p)
    code, out, _ = invoke("filter", "-r", str(src), "-t", "arp")
    assert code == 0 and out == "ARP, Request who-has 192.168.1.1 tell 10.0.0.1, length 46\n"
    code, out, _ = invoke("filter", "-r", str(src), "-d", "arp")
    assert out == dump(compile_filter("arp"), 1)


def test_records_longer_than_the_snap_length_are_cut(tmp_path: Path) -> None:
    """As libpcap does: the filter sees, and -w writes, only snaplen bytes of each record."""
    frame = frames()[1]
    raw = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 40, 1)
    raw += struct.pack("<IIII", 1, 0, len(frame), len(frame)) + frame
    src = tmp_path / "long.pcap"
    src.write_bytes(raw)
    out = tmp_path / "out.pcap"
    assert invoke("filter", "-r", str(src), "-w", str(out))[0] == 0
    (packet,) = read_packets(out)
    assert packet.data == frame[:40] and packet.orig_len == len(frame)
    # the TCP flags byte (offset 47) is past the 40 captured bytes: nothing matches
    code, stdout, _ = invoke("filter", "-r", str(src), "tcp[13] = 0x18")
    assert code == 0 and stdout == ""


def test_expression_starting_with_a_minus(capture: Path) -> None:
    code, out, _ = invoke("filter", "-r", str(capture), "-t", "--", "-ip[8] < 0")
    assert code == 0 and out == ""
    code, out, _ = invoke("filter", "-r", str(capture), "-t", "--", "- - ip[8] = 64")
    assert code == 0 and len(out.splitlines()) == 4


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["-d", "ip", "and"], EXIT_USAGE, "column 7"),
        (["-d", "tcp port"], EXIT_USAGE, "column"),
        (["-d", "host", "foo.example"], EXIT_USAGE, "not resolved"),
        (["-r", "/nonexistent.pcap", "ip"], EXIT_USAGE, "/nonexistent.pcap"),
        (["ip"], EXIT_USAGE, "-r FILE or -i IFACE"),
        (["-r", "x.pcap", "-i", "lo", "ip"], EXIT_USAGE, "cannot be used together"),
        (["-y", "NOSUCH", "-d", "ip"], EXIT_USAGE, "unknown link type"),
        (["-c", "0", "-d", "ip"], EXIT_USAGE, "-c"),
        (["-i", "no-such-if0", "ip"], EXIT_FAILED, "no such network interface"),
    ],
)
def test_errors(args: list[str], code: int, needle: str) -> None:
    got, _, err = invoke("filter", *args)
    assert got == code
    assert needle in err


def test_inbound_is_refused_for_files(capture: Path) -> None:
    code, _, err = invoke("filter", "-r", str(capture), "inbound")
    assert code == EXIT_USAGE
    assert "not supported on Ethernet when reading savefiles" in err
    assert invoke("filter", "-d", "inbound")[0] == 0  # a live capture has the packet type


def test_corrupt_capture_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"not a capture file at all")
    code, _, err = invoke("filter", "-r", str(bad), "ip")
    assert code == EXIT_USAGE and len(err.strip().splitlines()) == 1


def test_help_says_names_are_not_resolved() -> None:
    code, out, _ = invoke("filter", "--help")
    assert code == 0 and "never resolved" in out


def test_live_capture_without_privileges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CAP_NET_RAW the AF_PACKET socket is refused: one line, exit 1."""
    import ebpy.kernel.capture as capture_module

    def refuse(*args: object, **kwargs: object) -> object:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(capture_module.socket, "socket", refuse)
    code, _, err = invoke("filter", "-i", "lo", "-c", "1", "ip")
    assert code == EXIT_FAILED
    assert "CAP_NET_RAW" in err and len(err.strip().splitlines()) == 1


_WORDS = ["ip", "tcp", "port", "80", "and", "or", "not", "(", ")", "host", "10.0.0.1", "[",
          "]", ":", "2", "&", "=", "!=", "src", "dst", "net", "/8", "vlan", "mpls", "len", "-",
          "ether", "proto", "\\ip", "portrange", "1-5", "less", ">", "icmp", "icmptype", "'"]  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(_WORDS), max_size=8))
def test_any_expression_is_a_program_or_one_error_line(words: list[str]) -> None:
    code, out, err = invoke("filter", "-d", "--", " ".join(words))
    assert code in (0, EXIT_USAGE)
    if code:
        assert err.count("ebpy: error:") == 1 and out == ""
    else:
        assert out.startswith("(000) ")


def test_standard_input_and_output(capture: Path) -> None:
    """``-r -`` reads the capture from standard input, ``-w -`` writes to standard output."""
    result = CliRunner().invoke(_entry, ["--", "filter", "-r", "-", "-w", "-", "tcp"],
                                input=capture.read_bytes())  # fmt: skip
    assert result.exit_code == 0
    assert [p.data for p in read_packets(result.stdout_bytes)] == [frames()[i] for i in (0, 1, 4)]


@pytest.mark.skipif(not Path("/sys/class/net/lo").exists(), reason="no loopback interface")
def test_dump_for_an_interface_reads_vlan_tags_from_metadata() -> None:
    # live, the kernel has stripped the tag: libpcap (tcpdump -i lo -d vlan) loads it
    # from skb metadata, and so do we; a file's program reads the ethertype instead
    code, out, _ = invoke("filter", "-i", "lo", "-d", "vlan")
    assert code == 0
    assert out == dump(compile_filter("vlan", linux_vlan=True), 1)
    assert out.startswith("(000) ldb      [vlanp]")
    code, out, _ = invoke("filter", "-d", "vlan")
    assert "vlanp" not in out
