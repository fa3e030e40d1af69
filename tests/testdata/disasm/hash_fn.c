/* FNV-1a and a murmur-style mix over a packet prefix. */
#include "common.h"

static __noinline u64 fmix64(u64 k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdULL;
	k ^= k >> 33;
	k *= 0xc4ceb9fe1a85ec53ULL;
	k ^= k >> 33;
	return k;
}

SEC("xdp")
int hash_fn(struct xdp_md *ctx)
{
	u8 *p = (u8 *)(long)ctx->data;
	u8 *end = (u8 *)(long)ctx->data_end;
	u32 h = 2166136261u;

#pragma clang loop unroll(disable)
	for (int i = 0; i < 32; i++) {
		if (p + i + 1 > end)
			break;
		h = (h ^ p[i]) * 16777619u;
	}
	return (fmix64(h) & 1) ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
