/* Several programs in one ELF section.
 *
 * Three XDP programs share section "xdp", two socket filters share
 * "socket" and two tc programs share "tc"; a loader must split each
 * section at the function symbols (offset, size) and keep the relocations
 * of each program with it. Every program uses the shared `hits` array at
 * its own index, so map relocations appear at several offsets of one
 * section. Verdicts are fixed per program so a test-run tells them apart:
 *   multi_xdp_pass -> XDP_PASS, multi_xdp_drop -> XDP_DROP,
 *   multi_xdp_tx -> XDP_TX when the frame is at least 14 bytes (it swaps
 *   the Ethernet addresses), else XDP_ABORTED;
 *   multi_sock_all -> skb->len, multi_sock_none -> 0;
 *   multi_tc_ok -> TC_ACT_OK, multi_tc_shot -> TC_ACT_SHOT.
 */
#include "ebpy_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} hits SEC(".maps");

static __always_inline void hit(__u32 idx)
{
	__u64 *n = bpf_map_lookup_elem(&hits, &idx);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp")
int multi_xdp_pass(struct xdp_md *ctx)
{
	hit(0);
	return XDP_PASS;
}

SEC("xdp")
int multi_xdp_drop(struct xdp_md *ctx)
{
	hit(1);
	return XDP_DROP;
}

SEC("xdp")
int multi_xdp_tx(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	hit(2);
	if ((void *)(eth + 1) > data_end)
		return XDP_ABORTED;
	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("socket")
int multi_sock_all(struct __sk_buff *skb)
{
	hit(3);
	return skb->len;
}

SEC("socket")
int multi_sock_none(struct __sk_buff *skb)
{
	hit(4);
	return 0;
}

SEC("tc")
int multi_tc_ok(struct __sk_buff *skb)
{
	hit(5);
	return TC_ACT_OK;
}

SEC("tc")
int multi_tc_shot(struct __sk_buff *skb)
{
	hit(6);
	return TC_ACT_SHOT;
}

EBPY_LICENSE_GPL;
