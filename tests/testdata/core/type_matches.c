/* type_matches relocations. clang 14 cannot emit them, so every type_exists
 * relocation of this program is rewritten into type_matches (kind 12) by
 * retag.py when the object is built (see ../mk/core.mk); the instructions
 * hold 1 either way. Each line checks one rule against the kernel's types. */
#include "core.h"

struct sock;
struct task_struct;

struct list_head___ok {
	struct list_head___ok *next, *prev;
};
struct list_head___one {
	struct list_head___one *prev;
};
struct list_head___renamed {
	struct list_head___renamed *nxt;
};
struct rb_node___spelling {
	unsigned long __rb_parent_color;
};
enum pid_type___ok { PIDTYPE_PID, PIDTYPE_SID };
enum pid_type___bad { PIDTYPE_NOPE };
typedef struct {
	int counter;
} atomic_t;
struct task_struct___comm {
	char comm[16];
	pid_t pid;
};
struct task_struct___comm8 {
	char comm[8];
};
struct task_struct___upid {
	unsigned int pid;
};
struct sk_buff___fwd {
	struct sock *sk;
};
struct sk_buff___sk_not_ptr {
	struct sock___x {
		int a;
	} sk;
};
union bpf_attr___empty {
	int map_type___nope;
};
typedef void (*btf_trace_sched_switch)(void *, _Bool, struct task_struct *,
				       struct task_struct *, unsigned int);
typedef void (*btf_trace_sched_switch___int)(void *, int, struct task_struct *,
					     struct task_struct *, unsigned int);
typedef void (*btf_trace_sched_switch___short)(void *, _Bool);

volatile u64 out[16];

SEC("tracepoint/syscalls/sys_enter_geteuid")
int matches(void *ctx)
{
	out[0] = type_info(struct list_head___ok, T_EXISTS);
	out[1] = type_info(struct list_head___one, T_EXISTS);
	out[2] = type_info(struct list_head___renamed, T_EXISTS);
	out[3] = type_info(struct rb_node___spelling, T_EXISTS);
	out[4] = type_info(enum pid_type___ok, T_EXISTS);
	out[5] = type_info(enum pid_type___bad, T_EXISTS);
	out[6] = type_info(atomic_t, T_EXISTS);
	out[7] = type_info(struct task_struct___comm, T_EXISTS);
	out[8] = type_info(struct task_struct___comm8, T_EXISTS);
	out[9] = type_info(struct task_struct___upid, T_EXISTS);
	out[10] = type_info(struct sk_buff___fwd, T_EXISTS);
	out[11] = type_info(struct sk_buff___sk_not_ptr, T_EXISTS);
	out[12] = type_info(union bpf_attr___empty, T_EXISTS);
	out[13] = type_info(btf_trace_sched_switch, T_EXISTS);
	out[14] = type_info(btf_trace_sched_switch___int, T_EXISTS);
	out[15] = type_info(btf_trace_sched_switch___short, T_EXISTS);
	return 0;
}
