/* Global and static data in .data, .bss and .rodata. */
#include "common.h"

int global_counter = 5;
static volatile u64 static_total;
const volatile u32 config_threshold = 100;
static const char table[8] = { 3, 1, 4, 1, 5, 9, 2, 6 };
u32 zeroed[4];

SEC("socket")
int globals(struct __sk_buff *skb)
{
	u32 i = skb->len & 7;

	global_counter++;
	static_total += skb->len;
	zeroed[i & 3] = table[i];
	if (skb->len > config_threshold)
		return table[i] + zeroed[1];
	return global_counter + (int)static_total;
}

char LICENSE[] SEC("license") = "GPL";
