/* Direct CO-RE loads (LDX offsets) from the task_structs of sched_switch.
 *
 * The local task_struct lists a few fields in an order of its own; `nvcsw`
 * is declared u32 where the kernel has unsigned long (libbpf widens the
 * load), `se` is a nested struct, `comm` an array. */
#include "core.h"

struct sched_entity {
	u64 exec_start;
	u64 vruntime;
} CORE_STRUCT;

struct task_struct {
	pid_t tgid;
	pid_t pid;
	char comm[16];
	struct task_struct *real_parent;
	unsigned int flags;
	int prio;
	struct sched_entity se;
	u32 nvcsw;
	u64 start_time;
	unsigned int __state;
} CORE_STRUCT;

volatile u64 out[16];

SEC("tp_btf/sched_switch")
int on_switch(u64 *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx[1];
	struct task_struct *next = (struct task_struct *)ctx[2];

	out[0] = prev->pid;
	out[1] = next->tgid;
	out[2] = prev->real_parent->pid;
	out[3] = prev->comm[3];
	out[4] = prev->se.vruntime;
	out[5] = prev->nvcsw;
	out[6] = prev->flags;
	out[7] = next->start_time;
	out[8] = next->prio;
	out[9] = prev->__state;
	out[10] = next->se.exec_start;
	return 0;
}
