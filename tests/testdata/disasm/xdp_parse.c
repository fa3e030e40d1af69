/* Parse Ethernet, optional VLAN and IPv4 headers with bounds checks. */
#include "common.h"

struct ethhdr { u8 dst[6], src[6]; u16 proto; };
struct vlanhdr { u16 tci, proto; };
struct iphdr { u8 ihl_version, tos; u16 tot_len, id, frag_off; u8 ttl, protocol; u16 check; u32 saddr, daddr; };

SEC("xdp")
int xdp_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	u16 proto;
	void *next;

	if ((void *)(eth + 1) > end)
		return XDP_ABORTED;
	proto = eth->proto;
	next = eth + 1;
	if (proto == bpf_htons(0x8100)) {
		struct vlanhdr *vlan = next;
		if ((void *)(vlan + 1) > end)
			return XDP_ABORTED;
		proto = vlan->proto;
		next = vlan + 1;
	}
	if (proto != bpf_htons(0x0800))
		return XDP_PASS;
	struct iphdr *ip = next;
	if ((void *)(ip + 1) > end)
		return XDP_ABORTED;
	if ((ip->ihl_version & 0xf) < 5)
		return XDP_DROP;
	if ((ip->daddr & bpf_htonl(0xffffff00)) == bpf_htonl(0xc0a80100))
		return XDP_DROP;
	return ip->ttl > 1 ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
