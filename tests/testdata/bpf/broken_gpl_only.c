/* BROKEN on purpose: a GPL-only helper in a program that is not GPL.
 *
 * bpf_probe_read_kernel is restricted to GPL-compatible programs; this
 * object's license section says "Proprietary". The verifier must reject the
 * call ("cannot call GPL-restricted function from non-GPL compatible
 * program").
 */
#include "ebpy_bpf.h"

SEC("tracepoint/syscalls/sys_enter_getpid")
int broken_gpl_only(void *ctx)
{
	long value = 0;

	bpf_probe_read_kernel(&value, sizeof(value), ctx);
	return 0;
}

char _license[] SEC("license") = "Proprietary";
