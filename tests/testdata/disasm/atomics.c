// ebpy-test: cpus=v3
/* Atomic operations on 64- and 32-bit values (BPF_ATOMIC needs -mcpu=v3). */
#include "common.h"

u64 counter64;
u32 counter32;

SEC("tc")
int atomics(struct __sk_buff *skb)
{
	u64 old64;
	u32 old32;

	__sync_fetch_and_add(&counter64, skb->len);
	__sync_fetch_and_add(&counter32, 1);
	old64 = __sync_fetch_and_add(&counter64, 2);
	old32 = __sync_fetch_and_add(&counter32, 3);
	__sync_fetch_and_or(&counter64, 0x10);
	__sync_fetch_and_and(&counter32, 0xff);
	__sync_fetch_and_xor(&counter64, skb->mark);
	old64 += __sync_fetch_and_or(&counter64, 4);
	old32 += __sync_fetch_and_xor(&counter32, 5);
	old32 += __sync_fetch_and_and(&counter32, 6);
	old64 += __sync_lock_test_and_set(&counter64, 7);
	old32 += __sync_lock_test_and_set(&counter32, 8);
	old64 += __sync_val_compare_and_swap(&counter64, 9, 10);
	old32 += __sync_val_compare_and_swap(&counter32, 11, 12);
	return (int)(old64 + old32);
}

char LICENSE[] SEC("license") = "GPL";
