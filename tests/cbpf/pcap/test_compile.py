"""``compile_filter``: its options, link types, long programs, and libpcap as the oracle."""

from __future__ import annotations

import pytest

from ebpy.cbpf.interp import compile_filter_program
from ebpy.cbpf.isa import BPF_JA, BPF_JMP, BPF_K, BPF_RET, Insn
from ebpy.cbpf.pcap import compile_filter
from ebpy.cbpf.text import dump
from ebpy.errors import FilterSyntaxError
from tests.cbpf.pcap.goldens import Refused
from tests.cbpf.pcap.libpcap_compile import COMPILER, pcap_compile
from tests.cbpf.pcap.packets import packets

needs_libpcap = pytest.mark.skipif(COMPILER is None, reason="libpcap cannot be loaded")


def test_empty_expression_accepts_everything() -> None:
    for optimize in (True, False):
        assert compile_filter("", optimize=optimize) == [Insn(BPF_RET | BPF_K, 0, 0, 262144)]
    assert compile_filter("  ", snaplen=96) == [Insn(BPF_RET | BPF_K, 0, 0, 96)]


def test_snaplen_is_the_accepting_return() -> None:
    prog = compile_filter("ip", snaplen=1500)
    assert [i.k for i in prog if i.code == BPF_RET | BPF_K] == [1500, 0]


def test_raw_link_type_numbers_agree() -> None:
    assert compile_filter("tcp port 80", linktype=101) == compile_filter("tcp port 80", linktype=12)
    assert compile_filter("tcp port 80", linktype=14) == compile_filter("tcp port 80", linktype=12)


def test_raw_ipv4_and_ipv6_link_types() -> None:
    assert dump(compile_filter("ip and tcp", linktype=228), 1).splitlines() == [
        "(000) ldb      [9]",
        "(001) jeq      #0x6             jt 2\tjf 3",
        "(002) ret      #262144",
        "(003) ret      #0",
    ]
    assert len(compile_filter("ip6 and udp", linktype=229)) < 12


def test_inbound_outbound_on_ethernet_read_the_packet_type() -> None:
    text = dump(compile_filter("inbound"), 1).splitlines()
    assert text == [
        "(000) ldh      [type]",
        "(001) jeq      #0x4             jt 2\tjf 3",
        "(002) ret      #0",
        "(003) ret      #262144",
    ]
    assert dump(compile_filter("outbound"), 1).splitlines()[2] == "(002) ret      #262144"


@needs_libpcap
@pytest.mark.parametrize("expr", ["inbound", "outbound", "not inbound and tcp"])
@pytest.mark.parametrize("optimize", [False, True])
def test_inbound_outbound_as_libpcap(expr: str, optimize: bool) -> None:
    assert compile_filter(expr, optimize=optimize) == pcap_compile(expr, 1, optimize)


@needs_libpcap
@pytest.mark.parametrize("netmask", [0, 0xFFFFFF00, 0xFFFF0000])
def test_ip_broadcast_uses_the_netmask(netmask: int) -> None:
    for optimize in (False, True):
        want = pcap_compile("ip broadcast", 1, optimize, netmask)
        assert compile_filter("ip broadcast", optimize=optimize, netmask=netmask) == want


def test_protochain_is_never_optimized() -> None:
    for expr in ("ip protochain 6", "ip6 protochain 17 and tcp", "protochain 6 or port 80"):
        assert compile_filter(expr) == compile_filter(expr, optimize=False)
        assert any(i.code == BPF_JMP | BPF_JA and i.k >= 1 << 31 for i in compile_filter(expr))


def test_compiling_is_deterministic() -> None:
    expr = "tcp port 80 or udp port 53 or vlan and host 10.0.0.1"
    assert compile_filter(expr) == compile_filter(expr)


LONG = "port " + " or ".join(str(p) for p in range(1, 60))


def test_long_jumps_get_ja_hops() -> None:
    prog = compile_filter(LONG, optimize=False)
    hops = [i for i in prog if i.code == BPF_JMP | BPF_JA]
    assert len(prog) > 3000 and hops
    for pc, insn in enumerate(prog):
        if insn.code & 0x07 == BPF_JMP and insn.code != BPF_JMP | BPF_JA:
            assert pc + 1 + max(insn.jt, insn.jf) < len(prog)


@needs_libpcap
def test_long_programs_as_libpcap() -> None:
    assert compile_filter(LONG, optimize=False) == pcap_compile(LONG, 1, False)


def test_long_programs_optimize_without_changing_verdicts() -> None:
    unopt = compile_filter_program(compile_filter(LONG, optimize=False))
    opt_prog = compile_filter(LONG)
    opt = compile_filter_program(opt_prog)
    assert len(opt_prog) < 250
    for data, wirelen in packets(1):
        assert opt(data, wirelen) == unopt(data, wirelen)


@needs_libpcap
@pytest.mark.parametrize(
    "expr",
    [
        "decnet host 10.5",
        "decnet src 1.1023 or decnet dst host 63.1",
        "ip[0] + tcp[0] > 5",  # libpcap drops the tcp test of the right operand: so do we
        "byte 3 & 1",
        "byte 3 | 4 and ip",
        "ether proto 0x0806 or ether proto 5",
        "iso or esis or isis or clnp",
        "atalk or aarp or ipx or netbeui or stp",
        "vlan 1 and vlan 2 and vlan 3 and ip",
        "mpls 1 and mpls 2 and mpls 3 and ip6",
        "ip6 protochain 51 or ip protochain 51",
        "link[ip[0] & 0xf] = 5",
        "icmp6[icmp6type] = icmp6-routeradvert",
        "tcp[tcpflags] & (tcp-ece | tcp-cwr) != 0",
        "portrange ssh-ftp-data",
        "tcp portrange 20-ssh",
        "src or dst port domain and not port ntp",
    ],
)
def test_more_expressions_as_libpcap(expr: str) -> None:
    ours = compile_filter(expr, optimize=False)
    theirs = pcap_compile(expr, 1, False)
    assert not isinstance(theirs, Refused), theirs
    assert dump(ours, 1) == dump(theirs, 1)


def test_inbound_from_a_savefile_is_refused_where_the_link_has_no_direction() -> None:
    with pytest.raises(FilterSyntaxError) as err:
        compile_filter("tcp and inbound", savefile=True)
    assert (err.value.column, err.value.token) == (9, "inbound")
    # Linux cooked headers carry the direction: a file of them can be filtered
    assert compile_filter("inbound", linktype=113, savefile=True)
    assert compile_filter("inbound")  # live (or -d): the kernel's packet type
