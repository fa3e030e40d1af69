/* 64-bit constants, negative constants and large masks (lddw). */
#include "common.h"

SEC("socket")
int const64(struct __sk_buff *skb)
{
	u64 x = skb->len;

	x ^= 0x123456789abcdef0ULL;
	x += 0xfffffffffffffff0ULL;
	x &= 0x00ff00ff00ff00ffULL;
	x |= 0x8000000000000000ULL;
	if (x > 0x7fffffffffffffffULL)
		x -= 0x100000000ULL;
	x *= 0xdeadbeefULL;
	return (int)(x >> 13) + (skb->mark == 0xffffffffu ? -2147483647 - 1 : 2147483647);
}

char LICENSE[] SEC("license") = "GPL";
