/* BPF-to-BPF calls: static and global subprograms in .text.
 *
 * Two programs in different sections (xdp and tc) call into a shared chain
 * of noinline subprograms in .text, each chain several calls deep and free
 * of recursion:
 *
 *   xdp_calls -> xdp_frame_len (global, takes the XDP context)
 *             -> classify (static) -> proto_weight (static) -> mix (global)
 *                                                            -> rotl (static)
 *   tc_calls  -> classify (static) -> ...same chain...
 *             -> checksum_fold (global) -> rotl (static)
 *
 * Global functions are verified on their own by the kernel (arguments:
 * scalars or the context), static ones in the context of each call site.
 * Both programs return a deterministic verdict computed from the frame:
 * xdp_calls returns XDP_PASS when the mixed value is even and XDP_DROP when
 * it is odd; tc_calls returns TC_ACT_OK / TC_ACT_SHOT the same way.
 */
#include "ebpy_bpf.h"

static __noinline __u32 rotl(__u32 x, __u32 n)
{
	n &= 31;
	return (x << n) | (x >> ((32 - n) & 31));
}

__noinline __u32 mix(__u32 a, __u32 b)
{
	__u32 h = a * 0x9e3779b1u;

	h ^= rotl(b, 13);
	h = rotl(h, 7) * 5 + 0xe6546b64u;
	return h ^ (h >> 16);
}

static __noinline __u32 proto_weight(__u32 proto, __u32 len)
{
	__u32 w;

	switch (proto) {
	case IPPROTO_TCP:
		w = 6;
		break;
	case IPPROTO_UDP:
		w = 17;
		break;
	case IPPROTO_ICMP:
		w = 1;
		break;
	default:
		w = 255;
	}
	return mix(w, len);
}

/* The IPv4 protocol of an Ethernet frame, 0 if none. */
static __noinline __u32 classify(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *iph = (void *)(eth + 1);
	__u32 proto = 0;

	if ((void *)(iph + 1) <= data_end && eth->h_proto == bpf_htons(ETH_P_IP))
		proto = iph->protocol;
	return proto_weight(proto, (__u32)(data_end - data));
}

__noinline __u32 xdp_frame_len(struct xdp_md *ctx)
{
	if (!ctx)
		return 0;
	return ctx->data_end - ctx->data;
}

__noinline __u32 checksum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return rotl(~sum & 0xffff, 8) & 0xffff;
}

SEC("xdp")
int xdp_calls(struct xdp_md *ctx)
{
	__u32 len = xdp_frame_len(ctx);
	__u32 h = classify((void *)(long)ctx->data, (void *)(long)ctx->data_end);

	return (h ^ len) & 1 ? XDP_DROP : XDP_PASS;
}

SEC("tc")
int tc_calls(struct __sk_buff *skb)
{
	__u32 h = classify((void *)(long)skb->data, (void *)(long)skb->data_end);

	h = checksum_fold(h) ^ h;
	return h & 1 ? TC_ACT_SHOT : TC_ACT_OK;
}

EBPY_LICENSE_GPL;
