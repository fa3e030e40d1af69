#!/usr/bin/env python3
"""Ask libbpf (libbpf.so.1, through ctypes) which program type each section name gets.

Prints one line per name: ``name<TAB>prog_type<TAB>expected_attach_type``, or
``name<TAB>-`` when libbpf knows no convention for it. The names are every
SEC() convention of libbpf 1.x, bare and with a target, and a few that follow
none. Stand-alone (standard library only): the make target runs it with the
system python to write ../golden/elf/sections.libbpf.txt.
"""

import ctypes
import ctypes.util
import sys

PREFIXES = [
    "socket",
    "sk_reuseport/migrate",
    "sk_reuseport",
    "kprobe+",
    "uprobe+",
    "uprobe.s+",
    "kretprobe+",
    "uretprobe+",
    "uretprobe.s+",
    "kprobe.multi+",
    "kretprobe.multi+",
    "kprobe.session+",
    "uprobe.multi+",
    "uretprobe.multi+",
    "uprobe.multi.s+",
    "uretprobe.multi.s+",
    "uprobe.session+",
    "uprobe.session.s+",
    "ksyscall+",
    "kretsyscall+",
    "usdt+",
    "usdt.s+",
    "tc/ingress",
    "tc/egress",
    "tcx/ingress",
    "tcx/egress",
    "tc",
    "classifier",
    "action",
    "netkit/primary",
    "netkit/peer",
    "tracepoint+",
    "tp+",
    "raw_tracepoint+",
    "raw_tp+",
    "raw_tracepoint.w+",
    "raw_tp.w+",
    "tp_btf+",
    "fentry+",
    "fmod_ret+",
    "fexit+",
    "fentry.s+",
    "fmod_ret.s+",
    "fexit.s+",
    "freplace+",
    "lsm+",
    "lsm.s+",
    "lsm_cgroup+",
    "iter+",
    "iter.s+",
    "syscall",
    "xdp.frags/devmap",
    "xdp/devmap",
    "xdp.frags/cpumap",
    "xdp/cpumap",
    "xdp.frags",
    "xdp",
    "perf_event",
    "lwt_in",
    "lwt_out",
    "lwt_xmit",
    "lwt_seg6local",
    "sockops",
    "sk_skb/stream_parser",
    "sk_skb/stream_verdict",
    "sk_skb/verdict",
    "sk_skb",
    "sk_msg",
    "lirc_mode2",
    "flow_dissector",
    "cgroup_skb/ingress",
    "cgroup_skb/egress",
    "cgroup/skb",
    "cgroup/sock_create",
    "cgroup/sock_release",
    "cgroup/sock",
    "cgroup/post_bind4",
    "cgroup/post_bind6",
    "cgroup/bind4",
    "cgroup/bind6",
    "cgroup/connect4",
    "cgroup/connect6",
    "cgroup/connect_unix",
    "cgroup/sendmsg4",
    "cgroup/sendmsg6",
    "cgroup/sendmsg_unix",
    "cgroup/recvmsg4",
    "cgroup/recvmsg6",
    "cgroup/recvmsg_unix",
    "cgroup/getpeername4",
    "cgroup/getpeername6",
    "cgroup/getpeername_unix",
    "cgroup/getsockname4",
    "cgroup/getsockname6",
    "cgroup/getsockname_unix",
    "cgroup/sysctl",
    "cgroup/getsockopt",
    "cgroup/setsockopt",
    "cgroup/dev",
    "struct_ops+",
    "struct_ops.s+",
    "sk_lookup",
    "netfilter",
]

OTHERS = [
    "my_section",
    ".text",
    "maps",
    "license",
    "2/0",
    "kprobe/",
    "tracepoint/syscalls/sys_enter_write",
    "raw_tp/sched_switch",
    "fentry/tcp_v4_connect",
    "xdp_prog",
    "classifier_ingress",
    "socket1",
    "tc_foo",
    "cgroup/sock_create2",
    "kprobefoo",
    "xdp.frags_x",
    "sk_skb_parser",
    "lsm/file_open",
    "iter/task",
]


def names():
    for p in PREFIXES:
        if p.endswith("+"):
            yield p[:-1]
            yield p[:-1] + "/target"
        else:
            yield p
            yield p + "_x"
            yield p + "/x"
    yield from OTHERS


def main():
    path = ctypes.util.find_library("bpf") or "libbpf.so.1"
    lib = ctypes.CDLL(path)
    fn = lib.libbpf_prog_type_by_name
    fn.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    fn.restype = ctypes.c_int
    seen = set()
    for name in names():
        if name in seen:
            continue
        seen.add(name)
        ptype, atype = ctypes.c_int(-1), ctypes.c_int(-1)
        if fn(name.encode(), ctypes.byref(ptype), ctypes.byref(atype)) == 0:
            sys.stdout.write(f"{name}\t{ptype.value}\t{atype.value}\n")
        else:
            sys.stdout.write(f"{name}\t-\n")


if __name__ == "__main__":
    main()
