/* One tiny program per libbpf SEC() convention that loads on this kernel.
 *
 * The section name alone decides the program type and, for many, the
 * expected attach type (MANIFEST.json lists both). Each program touches
 * its context a little, the way real programs of its type do, and returns
 * a value in the range its type allows. Conventions that need BPF
 * trampolines (fentry, fexit, fmod_ret, lsm) are in sections_trampoline.c,
 * tcx ones (libbpf 1.3+) in sections_tcx.c, and lirc_mode2 (needs
 * CONFIG_BPF_LIRC_MODE2) in sections_lirc.c.
 */
#include "ebpy_bpf.h"
#include <linux/bpf_perf_event.h>

/* ---- networking: packet programs ---- */
SEC("xdp")
int sec_xdp(struct xdp_md *ctx)
{
	return ctx->ingress_ifindex ? XDP_PASS : XDP_PASS;
}

SEC("xdp.frags")
int sec_xdp_frags(struct xdp_md *ctx)
{
	__u8 first = 0;

	/* multi-buffer frames may be longer than data_end - data */
	bpf_xdp_load_bytes(ctx, 0, &first, 1);
	return first == 0xff ? XDP_DROP : XDP_PASS;
}

SEC("xdp/devmap")
int sec_xdp_devmap(struct xdp_md *ctx)
{
	return ctx->egress_ifindex ? XDP_PASS : XDP_DROP;
}

SEC("xdp/cpumap")
int sec_xdp_cpumap(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("tc")
int sec_tc(struct __sk_buff *skb)
{
	return skb->len > 1500 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("classifier")
int sec_classifier(struct __sk_buff *skb)
{
	skb->tc_classid = 0x10001;
	return TC_ACT_OK;
}

SEC("action")
int sec_action(struct __sk_buff *skb)
{
	skb->mark = 1;
	return TC_ACT_PIPE;
}

SEC("socket")
int sec_socket(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("cgroup_skb/ingress")
int sec_cgroup_skb_ingress(struct __sk_buff *skb)
{
	return 1;
}

SEC("cgroup_skb/egress")
int sec_cgroup_skb_egress(struct __sk_buff *skb)
{
	return skb->len < 65536;
}

SEC("cgroup/skb")
int sec_cgroup_skb(struct __sk_buff *skb)
{
	return 1;
}

SEC("flow_dissector")
int sec_flow_dissector(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;

	keys->n_proto = bpf_htons(ETH_P_IP);
	return BPF_OK;
}

SEC("lwt_in")
int sec_lwt_in(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_out")
int sec_lwt_out(struct __sk_buff *skb)
{
	return skb->len ? BPF_OK : BPF_DROP;
}

SEC("lwt_xmit")
int sec_lwt_xmit(struct __sk_buff *skb)
{
	return BPF_OK;
}

SEC("lwt_seg6local")
int sec_lwt_seg6local(struct __sk_buff *skb)
{
	return BPF_OK;
}

/* ---- sockets ---- */
SEC("sockops")
int sec_sockops(struct bpf_sock_ops *ops)
{
	ops->reply = ops->op == BPF_SOCK_OPS_TCP_CONNECT_CB;
	return 1;
}

SEC("sk_skb/stream_parser")
int sec_sk_skb_stream_parser(struct __sk_buff *skb)
{
	return skb->len;
}

SEC("sk_skb/stream_verdict")
int sec_sk_skb_stream_verdict(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_skb")
int sec_sk_skb(struct __sk_buff *skb)
{
	return SK_PASS;
}

SEC("sk_msg")
int sec_sk_msg(struct sk_msg_md *msg)
{
	return msg->size > 0 ? SK_PASS : SK_DROP;
}

SEC("sk_lookup")
int sec_sk_lookup(struct bpf_sk_lookup *ctx)
{
	return ctx->local_port == 7 ? SK_DROP : SK_PASS;
}

SEC("sk_reuseport")
int sec_sk_reuseport(struct sk_reuseport_md *reuse)
{
	return SK_PASS;
}

SEC("sk_reuseport/migrate")
int sec_sk_reuseport_migrate(struct sk_reuseport_md *reuse)
{
	return SK_PASS;
}

/* ---- cgroups ---- */
SEC("cgroup/sock")
int sec_cgroup_sock(struct bpf_sock *sk)
{
	return sk->family == 2 || sk->family == 10;
}

SEC("cgroup/sock_create")
int sec_cgroup_sock_create(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/sock_release")
int sec_cgroup_sock_release(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/post_bind4")
int sec_cgroup_post_bind4(struct bpf_sock *sk)
{
	return sk->src_port != 1;
}

SEC("cgroup/post_bind6")
int sec_cgroup_post_bind6(struct bpf_sock *sk)
{
	return 1;
}

SEC("cgroup/bind4")
int sec_cgroup_bind4(struct bpf_sock_addr *ctx)
{
	return ctx->user_port != bpf_htons(1);
}

SEC("cgroup/bind6")
int sec_cgroup_bind6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/connect4")
int sec_cgroup_connect4(struct bpf_sock_addr *ctx)
{
	/* redirect 127.0.0.2 to 127.0.0.1 */
	if (ctx->user_ip4 == bpf_htonl(0x7f000002))
		ctx->user_ip4 = bpf_htonl(0x7f000001);
	return 1;
}

SEC("cgroup/connect6")
int sec_cgroup_connect6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg4")
int sec_cgroup_sendmsg4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sendmsg6")
int sec_cgroup_sendmsg6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/recvmsg4")
int sec_cgroup_recvmsg4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/recvmsg6")
int sec_cgroup_recvmsg6(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/getpeername4")
int sec_cgroup_getpeername4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/getsockname4")
int sec_cgroup_getsockname4(struct bpf_sock_addr *ctx)
{
	return 1;
}

SEC("cgroup/sysctl")
int sec_cgroup_sysctl(struct bpf_sysctl *ctx)
{
	return ctx->write ? 0 : 1; /* read-only sysctls */
}

SEC("cgroup/getsockopt")
int sec_cgroup_getsockopt(struct bpf_sockopt *ctx)
{
	return 1;
}

SEC("cgroup/setsockopt")
int sec_cgroup_setsockopt(struct bpf_sockopt *ctx)
{
	return 1;
}

SEC("cgroup/dev")
int sec_cgroup_dev(struct bpf_cgroup_dev_ctx *ctx)
{
	return ctx->major != 1 || ctx->minor != 7; /* deny /dev/full */
}

/* ---- tracing ---- */
SEC("kprobe/do_unlinkat")
int sec_kprobe(void *ctx)
{
	return 0;
}

SEC("kretprobe/do_unlinkat")
int sec_kretprobe(void *ctx)
{
	return 0;
}

SEC("kprobe.multi/vfs_*")
int sec_kprobe_multi(void *ctx)
{
	return 0;
}

SEC("ksyscall/openat")
int sec_ksyscall(void *ctx)
{
	return 0;
}

SEC("kretsyscall/openat")
int sec_kretsyscall(void *ctx)
{
	return 0;
}

SEC("uprobe//bin/bash:readline")
int sec_uprobe(void *ctx)
{
	return 0;
}

SEC("uretprobe//bin/bash:readline")
int sec_uretprobe(void *ctx)
{
	return 0;
}

SEC("uprobe.s//bin/bash:readline")
int sec_uprobe_sleepable(void *ctx)
{
	char buf[8];

	/* sleepable: may fault user memory in */
	bpf_probe_read_user(buf, sizeof(buf), (void *)0x1000);
	return 0;
}

SEC("usdt//usr/lib/x86_64-linux-gnu/libc.so.6:libc:setjmp")
int sec_usdt(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int sec_tracepoint(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_getpid")
int sec_tp(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int sec_raw_tracepoint(struct bpf_raw_tracepoint_args *ctx)
{
	return ctx->args[1] == 39 ? 1 : 0;
}

SEC("raw_tp/sys_exit")
int sec_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tp.w/bpf_test_finish")
int sec_raw_tp_writable(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("tp_btf/sched_process_exec")
int sec_tp_btf(__u64 *ctx)
{
	return 0;
}

SEC("iter/task")
int sec_iter_task(void *ctx)
{
	return 0;
}

SEC("perf_event")
int sec_perf_event(struct bpf_perf_event_data *ctx)
{
	return ctx->sample_period > 1000000 ? 1 : 0;
}

SEC("syscall")
int sec_syscall(void *ctx)
{
	return 0;
}

EBPY_LICENSE_GPL;
