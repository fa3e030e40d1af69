/* BROKEN on purpose: map value dereferenced without a NULL check.
 *
 * bpf_map_lookup_elem returns a pointer to the value or NULL. The program
 * increments through the result directly; the verifier tracks the result
 * as "map_value_or_null" and must reject any access before the NULL test
 * ("invalid mem access 'map_value_or_null'").
 */
#include "ebpy_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} counts SEC(".maps");

SEC("xdp")
int broken_null_deref(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	__u64 *n = bpf_map_lookup_elem(&counts, &key);

	*n += 1; /* missing: if (!n) return XDP_PASS; */
	return XDP_PASS;
}

EBPY_LICENSE_GPL;
