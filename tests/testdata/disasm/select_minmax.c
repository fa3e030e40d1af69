/* Conditional moves, min/max and absolute values (selects become branches). */
#include "common.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

SEC("socket")
int select_minmax(struct __sk_buff *skb)
{
	s64 a = (s64)skb->len - 500, b = (s64)skb->mark - 1000;
	u32 c = skb->hash, d = skb->priority;
	s64 abs_a = a < 0 ? -a : a;

	return (int)(MIN(a, b) + MAX(c, d) + abs_a + MIN(MAX(abs_a, 5), 50) + (c > d ? c - d : d - c));
}

char LICENSE[] SEC("license") = "GPL";
