/* BROKEN on purpose: packet read without a bounds check.
 *
 * The program reads the EtherType at data + 12 without first comparing
 * data + 14 against data_end. The verifier only allows packet access within
 * a range proven by such a comparison, so it must reject the load
 * ("invalid access to packet").
 */
#include "ebpy_bpf.h"

SEC("xdp")
int broken_pkt_bounds(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	struct ethhdr *eth = data;

	/* missing: if ((void *)(eth + 1) > (void *)(long)ctx->data_end) return XDP_PASS; */
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return XDP_DROP;
	return XDP_PASS;
}

EBPY_LICENSE_GPL;
