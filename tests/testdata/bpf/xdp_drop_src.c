/* XDP: drop IPv4 packets from one source address.
 *
 * The address is a `const volatile` global, so it lives in .rodata and a
 * loader can set it before loading (the verifier then sees a constant).
 * Dropped packets are counted in an array map. Everything else passes.
 * Default: 10.0.0.1.
 */
#include "ebpy_bpf.h"

const volatile __be32 blocked_saddr = bpf_htonl(0x0a000001); /* 10.0.0.1 */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} drop_stats SEC(".maps");

enum { STAT_DROPPED = 0, STAT_PASSED = 1 };

static __always_inline void count(__u32 slot)
{
	__u64 *n = bpf_map_lookup_elem(&drop_stats, &slot);

	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp")
int xdp_drop_src(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end)
		return XDP_PASS;
	if (iph->saddr == blocked_saddr) {
		count(STAT_DROPPED);
		return XDP_DROP;
	}
	count(STAT_PASSED);
	return XDP_PASS;
}

EBPY_LICENSE_GPL;
