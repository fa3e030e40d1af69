/* Count packets per IP protocol, from XDP and from tc.
 *
 * Both programs parse Ethernet, then IPv4 or IPv6, and add one to the
 * counter of the L4 protocol number (IPv4 protocol, IPv6 next header) in
 * one BTF-defined hash map shared by the two. Non-IP frames are counted
 * under key 0xffff. Both programs let every packet through.
 */
#include "ebpy_bpf.h"

#define PROTO_NOT_IP 0xffff

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);
} proto_counts SEC(".maps");

/* The L4 protocol of the frame in [data, data_end), or PROTO_NOT_IP. */
static __always_inline __u32 l4_proto(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return PROTO_NOT_IP;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *iph = (void *)(eth + 1);

		if ((void *)(iph + 1) > data_end)
			return PROTO_NOT_IP;
		return iph->protocol;
	}
	if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return PROTO_NOT_IP;
		return ip6->nexthdr;
	}
	return PROTO_NOT_IP;
}

static __always_inline void bump(__u32 proto)
{
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&proto_counts, &proto);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&proto_counts, &proto, &one, BPF_NOEXIST);
}

SEC("xdp")
int xdp_proto_count(struct xdp_md *ctx)
{
	bump(l4_proto((void *)(long)ctx->data, (void *)(long)ctx->data_end));
	return XDP_PASS;
}

SEC("tc")
int tc_proto_count(struct __sk_buff *skb)
{
	bump(l4_proto((void *)(long)skb->data, (void *)(long)skb->data_end));
	return TC_ACT_OK;
}

EBPY_LICENSE_GPL;
