/* One BTF-defined map of every map type this kernel can create from an object.
 *
 * Plain ones: array (also a BPF_F_RDONLY_PROG one), per-CPU array, hash
 * (also a BPF_F_NO_PREALLOC one with a struct key), per-CPU hash, LRU hash,
 * LRU per-CPU hash, LPM trie (struct key, NO_PREALLOC as the kernel
 * requires), queue and stack (no key), bloom filter (no key, map_extra = 3
 * hash functions), ring buffer, perf event array, stack trace.
 * Maps of maps: an array of maps with `__array(values, struct inner_map)`
 * and slot 1 initialised to `inner_one`, a hash of maps with key 3
 * initialised to `inner_two`.
 * Redirect and socket maps: devmap, devmap hash, cpumap, xskmap, sockmap,
 * sockhash, reuseport sockarray, cgroup array.
 * Local storage: sk, task, inode and cgroup (CGRP_STORAGE, Linux 6.2)
 * storage, and the older per-attachment cgroup storage and its per-CPU
 * variant. USER_RINGBUF too. `ebpy_pin_counts` is pinned by name
 * (LIBBPF_PIN_BY_NAME: a loader pins it at <pin root>/ebpy_pin_counts,
 * /sys/fs/bpf by default, and reuses an existing pin).
 * Not here: STRUCT_OPS (needs a struct_ops object) and ARENA (needs clang
 * 18+ address spaces).
 *
 * Every map but m_inode_storage is used by some program, so a loaded
 * program's map ids reach them. (Inode storage is for LSM programs, which
 * need BPF trampolines; sections_trampoline.c has those.) maps_xdp (test-runnable) touches most plain maps and both maps
 * of maps, then redirects through a redirect map with XDP_PASS as the
 * fallback, so with empty maps a test-run returns XDP_PASS for frames up to
 * 1514 bytes. The others are one per map family: maps_tp (stack trace, user
 * ring buffer), maps_cgroup (cgroup storages, sk storage), maps_tc (cgroup
 * array), maps_sk_msg (sockmap, sockhash), maps_reuseport (reuseport
 * array), maps_task (task storage, and the inner maps used directly),
 * maps_cgrp (cgroup storage on tp_btf/cgroup_mkdir).
 */
#include "mini_vmlinux.h"

#ifndef BPF_MAP_TYPE_CGRP_STORAGE
#define BPF_MAP_TYPE_CGRP_STORAGE 32 /* Linux 6.2; newer than the uapi headers here */
#endif

struct lpm_v4_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct flow_key {
	__u32 saddr;
	__u32 daddr;
	__u16 sport;
	__u16 dport;
	__u32 proto;
};

struct counters {
	__u64 packets;
	__u64 bytes;
};

/* ---- plain maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} m_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_RDONLY_PROG);
} m_array_ro SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct counters);
	__uint(max_entries, 4);
} m_percpu_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1024);
} m_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct flow_key);
	__type(value, struct counters);
	__uint(max_entries, 4096);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} m_hash_noprealloc SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 128);
} m_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 128);
} m_lru_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 128);
} m_lru_percpu_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__type(key, struct lpm_v4_key);
	__type(value, __u32);
	__uint(max_entries, 256);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} m_lpm_trie SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__type(value, __u32);
	__uint(max_entries, 64);
} m_queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__type(value, __u64);
	__uint(max_entries, 64);
} m_stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__type(value, __u32);
	__uint(max_entries, 1000);
	__uint(map_extra, 3); /* number of hash functions */
} m_bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 * 1024);
} m_ringbuf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 8);
} m_perf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 32 * sizeof(__u64));
	__uint(max_entries, 256);
} m_stack_trace SEC(".maps");

/* ---- maps of maps ---- */
struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} inner_one SEC(".maps"), inner_two SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, struct inner_map);
} m_array_of_maps SEC(".maps") = {
	.values = { [1] = &inner_one },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct inner_map);
} m_hash_of_maps SEC(".maps") = {
	.values = { [3] = &inner_two }, /* key 3 */
};

/* ---- redirect and socket maps ---- */
struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__type(key, __u32);
	__type(value, __u32); /* ifindex */
	__uint(max_entries, 8);
} m_devmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 8);
} m_devmap_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CPUMAP);
	__type(key, __u32);
	__type(value, __u32); /* queue size */
	__uint(max_entries, 2);
} m_cpumap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
} m_xskmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} m_sockmap SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_SOCKHASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} m_sockhash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} m_reuseport SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 2);
} m_cgroup_array SEC(".maps");

/* ---- local storage ---- */
struct {
	__uint(type, BPF_MAP_TYPE_SK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct counters);
} m_sk_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} m_task_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_INODE_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} m_inode_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGRP_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} m_cgrp_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, struct counters);
} m_cgroup_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE);
	__type(key, struct bpf_cgroup_storage_key);
	__type(value, __u64);
} m_percpu_cgroup_storage SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_USER_RINGBUF);
	__uint(max_entries, 4096);
} m_user_ringbuf SEC(".maps");

/* ---- pinned by name ---- */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} ebpy_pin_counts SEC(".maps");

static __always_inline void add(void *map, __u32 key)
{
	__u64 *v = bpf_map_lookup_elem(map, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("xdp")
int maps_xdp(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	struct lpm_v4_key lpm = { .prefixlen = 32, .addr = { 10, 0, 0, 1 } };
	struct flow_key fk = { .proto = len & 0xff };
	struct counters *c, fresh = { 1, 0 };
	__u32 zero = 0, one = 1, qv = len;
	__u64 one64 = 1, sv = len;
	__u32 *ro, *prefix;
	void *inner;

	add(&m_array, len & 15);
	ro = bpf_map_lookup_elem(&m_array_ro, &zero);
	if (ro && *ro)
		return XDP_DROP;
	c = bpf_map_lookup_elem(&m_percpu_array, &zero);
	if (c) {
		c->packets++;
		c->bytes += len;
	}
	if (bpf_map_update_elem(&m_hash, &len, &one64, BPF_NOEXIST) < 0)
		add(&m_hash, len);
	c = bpf_map_lookup_elem(&m_hash_noprealloc, &fk);
	if (c)
		c->packets++;
	else
		bpf_map_update_elem(&m_hash_noprealloc, &fk, &fresh, BPF_ANY);
	bpf_map_update_elem(&m_percpu_hash, &zero, &one64, BPF_ANY);
	bpf_map_update_elem(&m_lru_hash, &len, &one64, BPF_ANY);
	bpf_map_update_elem(&m_lru_percpu_hash, &len, &one64, BPF_ANY);
	prefix = bpf_map_lookup_elem(&m_lpm_trie, &lpm);
	if (prefix && *prefix == 1)
		return XDP_DROP;
	bpf_map_push_elem(&m_queue, &qv, BPF_EXIST);
	bpf_map_pop_elem(&m_queue, &qv);
	bpf_map_push_elem(&m_stack, &sv, 0);
	bpf_map_peek_elem(&m_stack, &sv);
	bpf_map_push_elem(&m_bloom, &qv, 0);
	if (bpf_map_peek_elem(&m_bloom, &qv) != 0)
		return XDP_ABORTED; /* a bloom filter never forgets an added value */
	bpf_ringbuf_output(&m_ringbuf, &len, sizeof(len), 0);
	bpf_perf_event_output(ctx, &m_perf, BPF_F_CURRENT_CPU, &len, sizeof(len));
	inner = bpf_map_lookup_elem(&m_array_of_maps, &one);
	if (inner)
		add(inner, 0);
	inner = bpf_map_lookup_elem(&m_hash_of_maps, &len);
	if (inner)
		add(inner, 1);
	add(&ebpy_pin_counts, 0);
	if (len > 1514)
		return bpf_redirect_map(&m_cpumap, 0, 0);
	if (len > 1500)
		return bpf_redirect_map(&m_xskmap, 0, XDP_PASS);
	if (len > 1400)
		return bpf_redirect_map(&m_devmap_hash, 0, XDP_PASS);
	return bpf_redirect_map(&m_devmap, 0, XDP_PASS);
}

static long drain_one(struct bpf_dynptr *dynptr, void *ctx)
{
	*(__u64 *)ctx = 1; /* a constant: the verifier re-checks callbacks until states converge */
	return 0;
}

SEC("tracepoint/sched/sched_switch")
int maps_tp(void *ctx)
{
	long id = bpf_get_stackid(ctx, &m_stack_trace, 0);
	__u64 drained = 0;

	if (id >= 0)
		add(&m_array, 15);
	bpf_user_ringbuf_drain(&m_user_ringbuf, drain_one, &drained, 0);
	if (drained)
		add(&m_array, 14);
	return 0;
}

SEC("cgroup_skb/egress")
int maps_cgroup(struct __sk_buff *skb)
{
	struct counters *c = bpf_get_local_storage(&m_cgroup_storage, 0);
	__u64 *pc = bpf_get_local_storage(&m_percpu_cgroup_storage, 0);
	struct bpf_sock *sk = skb->sk;

	__sync_fetch_and_add(&c->packets, 1);
	__sync_fetch_and_add(&c->bytes, skb->len);
	*pc += 1;
	if (!sk)
		return 1;
	sk = bpf_sk_fullsock(sk);
	if (!sk)
		return 1;
	c = bpf_sk_storage_get(&m_sk_storage, sk, 0, BPF_SK_STORAGE_GET_F_CREATE);
	if (c)
		c->packets++;
	return 1;
}

SEC("tc")
int maps_tc(struct __sk_buff *skb)
{
	/* 1 when the packet's socket is in the cgroup at index 0 */
	return bpf_skb_under_cgroup(skb, &m_cgroup_array, 0) == 1 ? TC_ACT_SHOT : TC_ACT_OK;
}

SEC("sk_msg")
int maps_sk_msg(struct sk_msg_md *msg)
{
	__u32 key = msg->remote_port & 3;

	if (msg->local_port & 1)
		return bpf_msg_redirect_hash(msg, &m_sockhash, &key, BPF_F_INGRESS);
	return bpf_msg_redirect_map(msg, &m_sockmap, key, BPF_F_INGRESS);
}

SEC("sk_reuseport")
int maps_reuseport(struct sk_reuseport_md *reuse)
{
	__u32 key = reuse->hash & 3;

	if (bpf_sk_select_reuseport(reuse, &m_reuseport, &key, 0) == 0)
		return SK_PASS;
	return SK_DROP;
}

SEC("tp_btf/sched_switch")
int maps_task(__u64 *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();
	__u64 *switches;

	switches = bpf_task_storage_get(&m_task_storage, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (switches)
		*switches += 1;
	add(&inner_one, 1); /* inner maps are maps too: used directly */
	add(&inner_two, 1);
	return 0;
}

SEC("tp_btf/cgroup_mkdir")
int maps_cgrp(__u64 *ctx)
{
	struct cgroup *cgrp = (struct cgroup *)ctx[0];
	__u64 *made;

	made = bpf_cgrp_storage_get(&m_cgrp_storage, cgrp, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (made)
		*made += 1;
	return 0;
}

EBPY_LICENSE_GPL;
