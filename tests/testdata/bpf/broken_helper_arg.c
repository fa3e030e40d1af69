/* BROKEN on purpose: passes the context where a helper wants a map.
 *
 * bpf_map_lookup_elem's first argument must be a map pointer (an lddw of
 * a map). Here it gets the program's context. The verifier checks each
 * helper argument against the helper's prototype and must reject the call
 * ("R1 type=ctx expected=map_ptr").
 */
#include "ebpy_bpf.h"

SEC("xdp")
int broken_helper_arg(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(ctx, &key); /* ctx is not a map */

	return v ? XDP_DROP : XDP_PASS;
}

EBPY_LICENSE_GPL;
