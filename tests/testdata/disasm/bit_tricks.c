/* Bit manipulation: popcount, rotates, masks, arithmetic shifts, parity. */
#include "common.h"

static __noinline u64 popcount(u64 x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (x * 0x0101010101010101ULL) >> 56;
}

static __noinline u32 rotl32(u32 x, u32 n)
{
	return (x << (n & 31)) | (x >> ((32 - n) & 31));
}

SEC("socket")
int bit_tricks(struct __sk_buff *skb)
{
	u64 x = ((u64)skb->hash << 32) | skb->len;
	s64 s = (s64)x >> 7;
	u32 parity = skb->mark;

	parity ^= parity >> 16;
	parity ^= parity >> 8;
	parity ^= parity >> 4;
	parity &= 0xf;
	return (int)(popcount(x) + rotl32(skb->mark, skb->priority) + (u32)s
		     + ((0x6996 >> parity) & 1) + (x & -x) + (~x & 0xff00));
}

char LICENSE[] SEC("license") = "GPL";
