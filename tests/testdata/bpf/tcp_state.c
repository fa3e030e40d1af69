/* Track TCP state transitions from the sock/inet_sock_set_state tracepoint.
 *
 * The tracepoint context is described by mini_vmlinux.h with
 * preserve_access_index, so every context field read is a CO-RE relocation
 * resolved against this kernel's trace_event_raw_inet_sock_set_state.
 * For IPv4 TCP sockets the program keeps, per 4-tuple, the last transition
 * and how many there were (hash map `tcp_states`), deletes the entry when
 * the socket reaches TCP_CLOSE, and counts entries into each state in an
 * array. It also reads the address family from the socket itself through
 * BPF_CORE_READ (skaddr -> __sk_common.skc_family) and counts mismatches.
 */
#include "mini_vmlinux.h"

#define AF_INET 2
#define N_STATES 16

struct flow {
	__u8 saddr[4];
	__u8 daddr[4];
	__u16 sport;
	__u16 dport;
};

struct transition {
	__s32 oldstate;
	__s32 newstate;
	__u64 ts_ns;
	__u64 transitions;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow);
	__type(value, struct transition);
	__uint(max_entries, 4096);
} tcp_states SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, N_STATES); /* index N_STATES-1: family mismatches */
} state_entries SEC(".maps");

static __always_inline void bump(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&state_entries, &idx);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct transition *t, fresh = {};
	struct flow key = {};
	const struct sock *sk;
	__s32 newstate;

	if (ctx->protocol != IPPROTO_TCP || ctx->family != AF_INET)
		return 0;
	sk = ctx->skaddr;
	if (BPF_CORE_READ(sk, __sk_common.skc_family) != AF_INET)
		bump(N_STATES - 1);

	__builtin_memcpy(key.saddr, ctx->saddr, sizeof(key.saddr));
	__builtin_memcpy(key.daddr, ctx->daddr, sizeof(key.daddr));
	key.sport = ctx->sport;
	key.dport = ctx->dport;
	newstate = ctx->newstate;
	if (newstate > 0 && newstate < N_STATES - 1)
		bump(newstate);

	if (newstate == TCP_CLOSE) {
		bpf_map_delete_elem(&tcp_states, &key);
		return 0;
	}
	t = bpf_map_lookup_elem(&tcp_states, &key);
	if (!t) {
		bpf_map_update_elem(&tcp_states, &key, &fresh, BPF_NOEXIST);
		t = bpf_map_lookup_elem(&tcp_states, &key);
		if (!t)
			return 0;
	}
	t->oldstate = ctx->oldstate;
	t->newstate = newstate;
	t->ts_ns = bpf_ktime_get_ns();
	t->transitions += 1;
	return 0;
}

EBPY_LICENSE_GPL;
