/* vmlinux has several `struct workspace` with a `list` member at different
 * offsets: libbpf refuses the relocation (field offset ambiguity). */
#include "core.h"

struct list_head {
	struct list_head *next, *prev;
} CORE_STRUCT;

struct workspace {
	void *mem;
	struct list_head list;
} CORE_STRUCT;

volatile u64 out[4];

SEC("tracepoint/syscalls/sys_enter_getgid")
int ambiguous(void *ctx)
{
	struct workspace *w = ctx;

	out[0] = field_info(w->mem, F_BYTE_OFFSET);
	out[1] = field_info(w->list, F_BYTE_OFFSET);
	return 0;
}
