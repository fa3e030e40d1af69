/* A dense switch statement and a sparse one. */
#include "common.h"

static __noinline int dense(int x)
{
	switch (x) {
	case 0: return 11;
	case 1: return 22;
	case 2: return 35;
	case 3: return 47;
	case 4: return 51;
	case 5: return 68;
	case 6: return 72;
	case 7: return 89;
	default: return -1;
	}
}

SEC("socket")
int switch_table(struct __sk_buff *skb)
{
	int r = dense(skb->len & 7);

	switch (skb->protocol) {
	case 0x0008: return r + 1;
	case 0xdd86: return r + 2;
	case 0x0608: return r + 3;
	case 0x0081: return r * 2;
	}
	return r;
}

char LICENSE[] SEC("license") = "GPL";
