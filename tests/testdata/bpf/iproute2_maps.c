/* iproute2 map definitions: `struct bpf_elf_map` in SEC("maps").
 *
 * The layout `tc` reads when it loads an object itself (its legacy loader):
 * the five legacy fields, then id, pinning, inner_id, inner_idx.
 *   - ebpy_tc_flows: a hash pinned in the global namespace (PIN_GLOBAL_NS:
 *     tc pins it at /sys/fs/bpf/tc/globals/ebpy_tc_flows and reuses it)
 *   - ebpy_tc_inner: an array with id 1 and inner_idx 0: tc puts it in slot
 *     0 of the outer map whose inner_id is 1
 *   - ebpy_tc_outer: an array of maps with inner_id 1 (its template)
 *   - ebpy_tc_jmp: a prog array with id 2; tc fills it from sections named
 *     "<id>/<key>", so cls_tail in section "2/0" goes to slot 0
 *
 * cls_main (SEC("classifier")) counts flows per (protocol, mark) in the
 * pinned hash, bumps the inner map reached through the outer one, then
 * tail-calls slot 0: cls_tail marks the packet and returns TC_ACT_OK
 * (cls_main returns TC_ACT_UNSPEC if the tail call fails). act_mark
 * (SEC("action"), for `tc action ... bpf`) sets skb->mark too.
 *
 * Loading needs iproute2's own (pre-libbpf) ELF loader: libbpf 1.0+ and a
 * tc built on it refuse SEC("maps").
 */
#include "ebpy_bpf.h"

#define INNER_ID 1
#define JMP_ID 2

struct bpf_elf_map SEC("maps") ebpy_tc_flows = {
	.type = BPF_MAP_TYPE_HASH,
	.size_key = sizeof(__u64),
	.size_value = sizeof(__u64),
	.max_elem = 1024,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map SEC("maps") ebpy_tc_inner = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 1,
	.id = INNER_ID,
	.inner_idx = 0,
};

struct bpf_elf_map SEC("maps") ebpy_tc_outer = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 1,
	.inner_id = INNER_ID,
};

struct bpf_elf_map SEC("maps") ebpy_tc_jmp = {
	.type = BPF_MAP_TYPE_PROG_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 2,
	.id = JMP_ID,
};

SEC("classifier")
int cls_main(struct __sk_buff *skb)
{
	__u64 key = ((__u64)skb->protocol << 32) | skb->mark;
	__u64 one = 1, *n;
	__u32 zero = 0;
	void *inner;

	n = bpf_map_lookup_elem(&ebpy_tc_flows, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&ebpy_tc_flows, &key, &one, BPF_ANY);
	inner = bpf_map_lookup_elem(&ebpy_tc_outer, &zero);
	if (inner) {
		n = bpf_map_lookup_elem(inner, &zero);
		if (n)
			__sync_fetch_and_add(n, 1);
	}
	bpf_tail_call(skb, &ebpy_tc_jmp, 0);
	return TC_ACT_UNSPEC;
}

SEC("2/0")
int cls_tail(struct __sk_buff *skb)
{
	skb->mark = 0x2020;
	return TC_ACT_OK;
}

SEC("action")
int act_mark(struct __sk_buff *skb)
{
	skb->mark = 0xeb9f;
	return TC_ACT_OK;
}

EBPY_LICENSE_GPL;
