/* Signed comparisons, sign extension and arithmetic right shifts. */
#include "common.h"

static __noinline s64 sign_of(s64 x)
{
	return (x > 0) - (x < 0);
}

SEC("socket")
int signed_cmp(struct __sk_buff *skb)
{
	s32 a = (s32)skb->len - 1000;
	s16 b = (s16)skb->mark;
	s8 c = (s8)skb->priority;
	s64 d = (s64)a * b;

	if (a < -5 && b >= 3)
		return -1;
	if (d <= -100000 || c > 10)
		return (int)(d >> 3);
	return (int)sign_of(d) + (a >> 2) + c;
}

char LICENSE[] SEC("license") = "GPL";
