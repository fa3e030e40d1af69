/* Legacy map definitions: `struct bpf_map_def` in SEC("maps").
 *
 * The layout older loaders (libbpf before 1.0, samples/bpf, gobpf) read:
 * five u32s per map, no BTF for keys and values. libbpf 1.0+ refuses this
 * section ("legacy map definitions ... not supported"); iproute2 accepts it
 * because its own struct bpf_elf_map starts with the same five fields.
 * Maps: a hash (NO_PREALLOC), an array, a per-CPU array and a prog array.
 *
 * legacy_cls (SEC("classifier")) counts packets per protocol in the hash,
 * bytes in the array, and tail-calls slot 0 of the prog array;
 * legacy_socket (SEC("socket")) counts in the per-CPU array and keeps the
 * whole packet. All helpers are inlined: old loaders have no bpf2bpf calls.
 */
#include "ebpy_bpf.h"

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
	.map_flags = BPF_F_NO_PREALLOC,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 4,
};

struct bpf_map_def SEC("maps") legacy_percpu = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 1,
};

struct bpf_map_def SEC("maps") legacy_progs = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 2,
};

SEC("classifier")
int legacy_cls(struct __sk_buff *skb)
{
	__u32 proto = skb->protocol, zero = 0;
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&legacy_hash, &proto);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&legacy_hash, &proto, &one, BPF_NOEXIST);
	n = bpf_map_lookup_elem(&legacy_array, &zero);
	if (n)
		__sync_fetch_and_add(n, skb->len);
	bpf_tail_call(skb, &legacy_progs, 0);
	return TC_ACT_OK;
}

SEC("socket")
int legacy_socket(struct __sk_buff *skb)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&legacy_percpu, &zero);

	if (n)
		*n += 1;
	return skb->len;
}

EBPY_LICENSE_GPL;
