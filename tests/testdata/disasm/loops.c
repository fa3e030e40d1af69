/* Bounded loops with back edges and a loop-carried state machine. */
#include "common.h"

SEC("socket")
int loops(struct __sk_buff *skb)
{
	u32 sum = 0, state = 0;

#pragma clang loop unroll(disable)
	for (u32 i = 0; i < 100; i++) {
		sum += i * skb->len;
		if (sum & 1)
			state = (state << 1) ^ i;
		else
			state = state * 3 + 1;
	}
	u32 n = skb->len & 63;
#pragma clang loop unroll(disable)
	while (n > 1)
		n = n & 1 ? 3 * n + 1 : n >> 1;
	return sum ^ state ^ n;
}

char LICENSE[] SEC("license") = "GPL";
