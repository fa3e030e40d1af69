/* Existence and values: a field renamed in the kernel (task_struct.state became
 * __state in 5.14) behind ___flavour types, guarded reads of the missing one
 * (poisoned, dead code), types that do not exist, enumerators that moved,
 * vanished or carry a flavour, a signed enum, a 64-bit kernel enum read through
 * a 32-bit local one, and local/target type ids. */
#include "core.h"

struct task_struct___old {
	long state;
	int pid;
} CORE_STRUCT;

struct task_struct___new {
	unsigned int __state;
	int pid;
} CORE_STRUCT;

struct no_such_struct___x {
	int a;
} CORE_STRUCT;

union no_such_union {
	int a;
};

enum pid_type___old { PIDTYPE_GONE = 9, PIDTYPE_SID___v = 3, PIDTYPE_MAX___x = 77 };
enum bpf_map_type { BPF_MAP_TYPE_RINGBUF = 100, BPF_MAP_TYPE_ARENA = 101, BPF_MAP_TYPE_NOPE = 102 };
enum perf_event_state { PERF_EVENT_STATE_DEAD = -4, PERF_EVENT_STATE_EXIT = -3 };
enum perf_callchain_context { PERF_CONTEXT_KERNEL = -128, PERF_CONTEXT_USER = -512 };

volatile u64 out[32];

SEC("tracepoint/syscalls/sys_enter_gettid")
int existence(void *ctx)
{
	struct task_struct___old *told = get_current_task();
	struct task_struct___new *tnew = (void *)told;
	long state = 0;
	unsigned int ustate = 0;

	if (field_info(told->state, F_EXISTS)) {
		KREAD(state, told->state);
		out[0] = state;
	} else {
		KREAD(ustate, tnew->__state);
		out[0] = ustate;
	}
	out[1] = field_info(told->state, F_EXISTS);
	out[2] = field_info(tnew->__state, F_EXISTS);
	out[3] = field_info(told->pid, F_EXISTS);
	out[4] = type_info(struct no_such_struct___x, T_EXISTS);
	out[5] = type_info(struct no_such_struct___x, T_SIZE);
	out[6] = type_info(union no_such_union, T_EXISTS);
	out[7] = type_info(struct task_struct___new, T_EXISTS);
	out[8] = enum_info(enum pid_type___old, PIDTYPE_GONE, E_EXISTS);
	if (enum_info(enum pid_type___old, PIDTYPE_GONE, E_EXISTS))
		out[9] = enum_info(enum pid_type___old, PIDTYPE_GONE, E_VALUE);
	out[10] = enum_info(enum pid_type___old, PIDTYPE_SID___v, E_VALUE);
	out[11] = enum_info(enum pid_type___old, PIDTYPE_MAX___x, E_VALUE);
	out[12] = enum_info(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF, E_VALUE);
	out[13] = enum_info(enum bpf_map_type, BPF_MAP_TYPE_ARENA, E_VALUE);
	out[14] = enum_info(enum bpf_map_type, BPF_MAP_TYPE_NOPE, E_EXISTS);
	out[15] = enum_info(enum perf_event_state, PERF_EVENT_STATE_DEAD, E_VALUE);
	out[16] = enum_info(enum perf_callchain_context, PERF_CONTEXT_USER, E_VALUE);
	out[17] = type_id(struct task_struct___new, ID_TARGET);
	out[18] = type_id(struct task_struct___new, ID_LOCAL);
	out[19] = type_id(struct no_such_struct___x, ID_TARGET);
	out[20] = type_id(enum bpf_map_type, ID_TARGET);
	out[21] = type_info(enum perf_callchain_context, T_SIZE);
	return 0;
}
