/* Several programs of different types in one object. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} stats SEC(".maps");

static __noinline void bump(u32 idx, u64 by)
{
	u64 *v = bpf_map_lookup_elem(&stats, &idx);

	if (v)
		*v += by;
}

SEC("xdp")
int multi_xdp(struct xdp_md *ctx)
{
	bump(0, ctx->data_end - ctx->data);
	return XDP_PASS;
}

SEC("tc")
int multi_tc(struct __sk_buff *skb)
{
	bump(1, skb->len);
	return TC_ACT_OK;
}

SEC("cgroup_skb/ingress")
int multi_cgroup(struct __sk_buff *skb)
{
	return skb->len < 9000;
}

char LICENSE[] SEC("license") = "GPL";
u32 _version SEC("version") = 0x050a00;
