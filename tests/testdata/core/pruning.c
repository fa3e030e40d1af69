/* vmlinux has two different `struct syscall_tp_t`. Both have syscall_nr at the
 * same offset (two matching candidates, one answer); only the first has `ret`,
 * after which libbpf keeps only that candidate for the type, so `args` (only in
 * the second) then no longer exists and the type's size is no longer ambiguous. */
#include "core.h"

struct syscall_tp_t {
	int syscall_nr;
	long ret;
	unsigned long args[6];
} CORE_STRUCT;

volatile u64 out[8];

SEC("tracepoint/syscalls/sys_enter_getuid")
int pruned(void *ctx)
{
	struct syscall_tp_t *p = ctx;

	out[0] = field_info(p->syscall_nr, F_BYTE_OFFSET);
	out[1] = field_info(p->ret, F_BYTE_OFFSET);
	out[2] = field_info(p->args, F_EXISTS);
	out[3] = type_info(struct syscall_tp_t, T_SIZE);
	return 0;
}
