/* Comparisons of 32-bit values (JMP32 with -mcpu=v3) against constants and registers. */
#include "common.h"

SEC("socket")
int jmp32(struct __sk_buff *skb)
{
	u32 a = skb->len, b = skb->mark;
	s32 c = (s32)skb->priority;
	int r = 0;

	if (a > 3)
		r += 1;
	if (a <= b)
		r += 2;
	if (c < -7)
		r += 4;
	if ((s32)b >= c)
		r += 8;
	if (a != 0x7fffffff)
		r += 16;
	if (b & 0x40)
		r += 32;
	return r;
}

char LICENSE[] SEC("license") = "GPL";
