/* BROKEN on purpose: writes outside the 512-byte stack frame.
 *
 * The store goes 1024 bytes below a 16-byte stack buffer, far past the
 * frame's 512 bytes. The verifier checks every stack access against the
 * frame and must reject it ("invalid write to stack" / "invalid stack off").
 */
#include "ebpy_bpf.h"

SEC("socket")
int broken_stack_oob(struct __sk_buff *skb)
{
	volatile char buf[16];
	long addr = (long)buf;

	buf[0] = 1;
	/* hide the arithmetic from clang, which would drop an out-of-object store */
	asm volatile("" : "+r"(addr));
	addr -= 1024; /* below the frame */
	*(volatile char *)addr = 2;
	return buf[0];
}

EBPY_LICENSE_GPL;
