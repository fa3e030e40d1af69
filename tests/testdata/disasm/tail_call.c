/* Tail calls through a program array. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} jump_table SEC(".maps");

SEC("socket")
int tail_call(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jump_table, skb->len & 3);
	bpf_tail_call(skb, &jump_table, 0);
	return 0;
}

SEC("socket")
int tail_target(struct __sk_buff *skb)
{
	return skb->len;
}

char LICENSE[] SEC("license") = "GPL";
