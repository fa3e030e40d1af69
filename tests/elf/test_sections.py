"""The SEC() conventions: the table, matching rules, and libbpf's own answers.

``tests/golden/elf/sections.libbpf.txt`` is what libbpf 1.1's
``libbpf_prog_type_by_name`` says for a list of section names; every name it
knows must get the same program and attach type here. Names libbpf 1.1 does
not know are conventions added later (tcx, netkit, sessions ...) or the
libbpf 0.x prefixes (``xdp_prog``) kept for old objects.
"""

from __future__ import annotations

import pytest

from ebpy.elf.sections import (
    NEWER_ATTACH_TYPES,
    NEWER_PROG_TYPES,
    SECTION_BY_PREFIX,
    SECTION_DEFS,
    SecFlag,
    match_section,
)
from ebpy.uapi import AttachType, ProgLoadFlags, ProgType
from tests.elf.corpus import GOLDEN

LIBBPF = GOLDEN / "elf" / "sections.libbpf.txt"


def _libbpf_answers() -> list[tuple[str, int | None, int | None]]:
    out = []
    for line in LIBBPF.read_text().splitlines():
        fields = line.split("\t")
        if fields[1] == "-":
            out.append((fields[0], None, None))
        else:
            out.append((fields[0], int(fields[1]), int(fields[2])))
    return out


ANSWERS = _libbpf_answers()

NOT_IN_LIBBPF_1_1 = {
    "kprobe.session",
    "uprobe.multi",
    "uretprobe.multi",
    "uprobe.multi.s",
    "uretprobe.multi.s",
    "uprobe.session",
    "uprobe.session.s",
    "usdt.s",
    "tc/ingress",
    "tc/egress",
    "tcx/ingress",
    "tcx/egress",
    "netkit/primary",
    "netkit/peer",
    "cgroup/connect_unix",
    "cgroup/sendmsg_unix",
    "cgroup/recvmsg_unix",
    "cgroup/getpeername_unix",
    "cgroup/getsockname_unix",
    "sk_skb/verdict",
    "struct_ops.s",
    "netfilter",
}
"""Conventions of later libbpf releases, which 1.1 (the reference here) lacks."""


def test_golden_covers_every_convention() -> None:
    names = {a[0] for a in ANSWERS}
    for d in SECTION_DEFS:
        assert d.convention in names


@pytest.mark.parametrize(("name", "prog_type", "attach"), ANSWERS, ids=[a[0] for a in ANSWERS])
def test_agrees_with_libbpf(name: str, prog_type: int | None, attach: int | None) -> None:
    info = match_section(name)
    if prog_type is None:
        # libbpf 1.1 knows no convention: either none here either, a newer one,
        # or a libbpf 0.x prefix match.
        newer = info.prog_type in NEWER_PROG_TYPES.values() or (
            info.expected_attach_type in NEWER_ATTACH_TYPES.values()
        )
        legacy = info.known and info.attach_to == "" and name != info.convention
        new_prefix = info.convention in NOT_IN_LIBBPF_1_1
        assert not info.known or newer or legacy or new_prefix, info
        return
    assert info.known
    assert info.prog_type == prog_type
    assert (info.expected_attach_type or 0) == attach


def test_types_are_uapi_members_where_named() -> None:
    for d in SECTION_DEFS:
        if d.prog_type in ProgType._value2member_map_:
            assert isinstance(d.prog_type, ProgType)
        else:
            assert d.prog_type in NEWER_PROG_TYPES.values()
        a = d.expected_attach_type
        if a is not None and a in AttachType._value2member_map_:
            assert isinstance(a, AttachType)
        elif a is not None:
            assert a in NEWER_ATTACH_TYPES.values()


@pytest.mark.parametrize(
    ("name", "convention", "target"),
    [
        ("kprobe", "kprobe", ""),
        ("kprobe/do_sys_open", "kprobe", "do_sys_open"),
        ("kretprobe/tcp_sendmsg", "kretprobe", "tcp_sendmsg"),
        ("tracepoint/syscalls/sys_enter_write", "tracepoint", "syscalls/sys_enter_write"),
        ("tp/sched/sched_switch", "tp", "sched/sched_switch"),
        ("uprobe.s//bin/bash:readline", "uprobe.s", "/bin/bash:readline"),
        ("fentry.s/do_unlinkat", "fentry.s", "do_unlinkat"),
        ("lsm.s/file_open", "lsm.s", "file_open"),
        ("iter/task", "iter", "task"),
        ("struct_ops/tcp_init", "struct_ops", "tcp_init"),
        ("raw_tp.w/bpf_test_finish", "raw_tp.w", "bpf_test_finish"),
        ("xdp.frags/devmap", "xdp.frags/devmap", ""),
        ("sk_reuseport/migrate", "sk_reuseport/migrate", ""),
        ("cgroup/sock", "cgroup/sock", ""),
        ("cgroup/sock_create", "cgroup/sock_create", ""),
        ("classifier_ingress", "classifier", ""),
        ("xdp_prog", "xdp", ""),
    ],
)
def test_convention_and_target(name: str, convention: str, target: str) -> None:
    info = match_section(name)
    assert (info.convention, info.attach_to) == (convention, target)


@pytest.mark.parametrize("name", ["kprobefoo", "my_section", ".text", "2/0", "", "fentry_x"])
def test_unknown_sections(name: str) -> None:
    info = match_section(name)
    assert not info.known
    assert info.prog_type == ProgType.UNSPEC
    assert info.expected_attach_type is None


@pytest.mark.parametrize(
    ("name", "flags"),
    [
        ("xdp", 0),
        ("xdp.frags", ProgLoadFlags.XDP_HAS_FRAGS),
        ("xdp.frags/cpumap", ProgLoadFlags.XDP_HAS_FRAGS),
        ("fentry.s/f", ProgLoadFlags.SLEEPABLE),
        ("uprobe.multi.s/x", ProgLoadFlags.SLEEPABLE),
        ("syscall", ProgLoadFlags.SLEEPABLE),
        ("fentry/f", 0),
    ],
)
def test_load_flags(name: str, flags: int) -> None:
    assert match_section(name).load_flags == flags


def test_registry_by_prefix() -> None:
    assert len(SECTION_BY_PREFIX) == len(SECTION_DEFS)
    assert SECTION_BY_PREFIX["tcx/ingress"].expected_attach_type == 46
    assert SECTION_BY_PREFIX["netfilter"].prog_type == 32
    assert SECTION_BY_PREFIX["lsm+"].flags & SecFlag.ATTACH_BTF


def test_first_match_wins() -> None:
    # the longer conventions come first where one prefixes another
    assert match_section("sk_reuseport/migrate").expected_attach_type == (
        AttachType.SK_REUSEPORT_SELECT_OR_MIGRATE
    )
    assert match_section("tc/ingress").expected_attach_type == 46
    assert match_section("tc").expected_attach_type is None
    assert match_section("uprobe.multi.s/x").convention == "uprobe.multi.s"
