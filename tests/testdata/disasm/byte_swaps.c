/* Byte swaps of every width: __builtin_bswap* and htons/htonl-style macros. */
#include "common.h"

SEC("socket")
int byte_swaps(struct __sk_buff *skb)
{
	u16 a = bswap16((u16)skb->len);
	u32 b = __builtin_bswap32(skb->hash);
	u64 c = __builtin_bswap64(((u64)skb->mark << 32) | skb->priority);
	u16 port = bpf_htons(8080);

	return a + b + (u32)(c >> 16) + port + bpf_htonl(skb->ifindex);
}

char LICENSE[] SEC("license") = "GPL";
