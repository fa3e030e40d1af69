/* A socket filter with the legacy packet loads (LD_ABS / LD_IND). */
#include "common.h"

unsigned long long load_byte(void *skb, unsigned long long off) asm("llvm.bpf.load.byte");
unsigned long long load_half(void *skb, unsigned long long off) asm("llvm.bpf.load.half");
unsigned long long load_word(void *skb, unsigned long long off) asm("llvm.bpf.load.word");

SEC("socket")
int socket_ldabs(struct __sk_buff *skb)
{
	if (load_half(skb, 12) != 0x0800)
		return 0;
	u64 ihl = (load_byte(skb, 14) & 0xf) << 2;
	if (load_byte(skb, 23) != 6)
		return 0;
	u64 ports = load_word(skb, 14 + ihl);
	return (ports & 0xffff) == 80 ? -1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
