/* 32-bit arithmetic: unsigned division and remainder, multiplication, shifts. */
#include "common.h"

static __noinline u32 gcd(u32 a, u32 b)
{
#pragma clang loop unroll(disable)
	while (b) {
		u32 t = a % b;
		a = b;
		b = t;
	}
	return a;
}

SEC("socket")
int alu32(struct __sk_buff *skb)
{
	u32 a = skb->len, b = skb->hash | 1;
	u32 q = a / b, r = a % 10;
	u32 m = a * 2654435761u;
	u32 sh = (a << 3) - (b >> 5) + (m >> (a & 7));

	return gcd(a, b) + q + r + sh - (u32)-a;
}

char LICENSE[] SEC("license") = "GPL";
