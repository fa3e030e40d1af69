/* A tc classifier reading __sk_buff fields and setting the mark. */
#include "common.h"

SEC("tc")
int tc_classifier(struct __sk_buff *skb)
{
	u32 len = skb->len;

	if (skb->protocol != bpf_htons(0x86dd) && len < 64)
		return TC_ACT_SHOT;
	skb->mark = (skb->hash & 0xff) | (skb->ifindex << 8);
	skb->tc_classid = len > 1500 ? 0x10002 : 0x10001;
	skb->cb[0] = skb->priority + 1;
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
