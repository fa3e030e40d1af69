/* bpf-to-bpf calls: noinline functions in .text called from two programs. */
#include "common.h"

__noinline int mix(int a, int b, int c, int d, int e)
{
	return (a * 31 + b) ^ (c * 7 - d) ^ e;
}

static __noinline int twice(int x)
{
	return mix(x, x, 1, 2, 3) * 2;
}

static __noinline int clamp(int x, int lo, int hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

SEC("socket")
int bpf2bpf_a(struct __sk_buff *skb)
{
	return clamp(twice(skb->len), 0, 1000) + mix(skb->mark, 1, 2, 3, 4);
}

SEC("socket")
int bpf2bpf_b(struct __sk_buff *skb)
{
	return twice(skb->hash) - clamp(skb->priority, 10, 20);
}

char LICENSE[] SEC("license") = "GPL";
