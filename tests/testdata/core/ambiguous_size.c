/* The two `struct syscall_tp_t` of vmlinux differ in size: libbpf refuses the
 * type_size relocation (relocation decision ambiguity). */
#include "core.h"

struct syscall_tp_t {
	int syscall_nr;
} CORE_STRUCT;

volatile u64 out[4];

SEC("tracepoint/syscalls/sys_enter_getegid")
int ambiguous(void *ctx)
{
	out[0] = type_info(struct syscall_tp_t, T_EXISTS);
	out[1] = type_info(struct syscall_tp_t, T_SIZE);
	return 0;
}
