/* CO-RE addresses for bpf_probe_read_kernel (ALU immediates): nested
 * pointers, arrays of structs, typedef'd structs (refcount_t -> atomic_t),
 * a root that is itself a typedef, and field_info on array elements. */
#include "core.h"

typedef struct {
	int counter;
} atomic_t;

typedef struct refcount_struct {
	atomic_t refs;
} refcount_t;

struct rlimit {
	u64 rlim_cur;
	u64 rlim_max;
} CORE_STRUCT;

struct signal_struct {
	int nr_threads;
	struct rlimit rlim[16];
} CORE_STRUCT;

struct hlist_node {
	struct hlist_node *next;
	struct hlist_node **pprev;
} CORE_STRUCT;

struct mm_struct {
	unsigned long task_size;
} CORE_STRUCT;

struct task_struct {
	refcount_t usage;
	int pid;
	struct signal_struct *signal;
	struct mm_struct *mm;
	struct hlist_node pid_links[4];
	char comm[16];
} CORE_STRUCT;

volatile u64 out[16];

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx)
{
	struct task_struct *t = get_current_task();
	struct signal_struct *sig = 0;
	struct mm_struct *mm = 0;
	struct hlist_node *n = 0;
	u64 v = 0;
	int i = 0;

	KREAD(i, t->pid);
	out[0] = i;
	KREAD(sig, t->signal);
	KREAD(v, sig->rlim[7].rlim_cur);
	out[1] = v;
	KREAD(v, sig->rlim[15].rlim_max);
	out[2] = v;
	KREAD(i, sig->nr_threads);
	out[3] = i;
	KREAD(mm, t->mm);
	KREAD(v, mm->task_size);
	out[4] = v;
	KREAD(n, t->pid_links[2].next);
	out[5] = (u64)n;
	KREAD(i, t->usage.refs.counter);
	out[6] = i;
	KREAD(i, ((atomic_t *)ctx)->counter);
	out[7] = i;
	out[8] = field_info(t->comm[5], F_BYTE_OFFSET);
	out[9] = field_info(sig->rlim[3], F_BYTE_SIZE);
	out[10] = field_info(t->pid_links[1], F_BYTE_OFFSET);
	out[11] = type_info(atomic_t, T_SIZE);
	out[12] = type_info(refcount_t, T_EXISTS);
	return 0;
}
