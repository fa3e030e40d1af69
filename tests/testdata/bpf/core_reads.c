/* CO-RE: every relocation kind clang 14 can emit, on four tracing sections.
 *
 * Each program fills one `struct core_result` slot of the array `core_out`
 * (slot = program: 0 kprobe, 1 tracepoint, 2 raw_tp, 3 tp_btf) from a task:
 *   field byte offset   bpf_core_field_offset(task->pid)           -> pid_offset
 *   reads 1..5 deep     BPF_CORE_READ(task, pid) ... (task, mm, exe_file,
 *                       f_path.dentry, d_name.name) - f_path sits in an
 *                       anonymous union in the kernel's struct file
 *   field exists        task->__state (1), task_struct___pre514->state (0)
 *   field byte size     task->comm (16)
 *   field signed        task->pid (1), task->flags (0)
 *   bitfield (lshift/rshift + size/offset/signed)  task->in_execve,
 *                       task->sched_reset_on_fork (BPF_CORE_READ_BITFIELD_PROBED)
 *   type exists         struct task_struct (1), struct ebpy_no_such_type (0)
 *   type size           struct task_struct (this kernel's size)
 *   enum value exists   TCP_CA_Loss (1), TCP_CA_Teleport___future (0)
 *   enum value          TCP_CA_Loss (4), PIDTYPE_MAX (4),
 *                       BPF_FUNC_user_ringbuf_drain (209)
 *   type id local/target  struct task_struct in this object / in vmlinux
 * clang 14 cannot emit TYPE_MATCHES (kind 12, clang 15+): not here.
 *
 * core_kprobe (kprobe/do_unlinkat) also reads the first argument through
 * the relocated pt_regs->di; core_tracepoint reads the tracepoint's own
 * (non-CO-RE) context; core_raw_tp takes `prev` from the raw arguments;
 * core_tp_btf follows BTF pointers directly (next->real_parent->tgid): its
 * plain loads carry the relocations.
 */
#include "mini_vmlinux.h"

#define SLOT_KPROBE 0
#define SLOT_TRACEPOINT 1
#define SLOT_RAW_TP 2
#define SLOT_TP_BTF 3

struct core_result {
	__s32 pid;
	__s32 tgid;
	__s32 ppid;
	__u32 flags;
	char comm[16];
	char exe[32];
	__u64 arg_start;
	__u64 first_arg;
	__u32 pid_offset;
	__u32 has_state_field;
	__u32 has___state_field;
	__u32 comm_size;
	__u32 pid_signed;
	__u32 flags_signed;
	__u32 in_execve;
	__u32 reset_on_fork;
	__u32 task_exists;
	__u32 no_such_type_exists;
	__u32 task_size;
	__u32 ca_loss_exists;
	__u32 ca_loss_value;
	__u32 teleport_exists;
	__u32 pidtype_max;
	__u32 ringbuf_drain_id;
	__u32 task_local_id;
	__u32 task_kernel_id;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct core_result);
	__uint(max_entries, 4);
} core_out SEC(".maps");

/* The facts that do not depend on how the task pointer was obtained. */
static __always_inline void fill_static(struct core_result *r, struct task_struct *task)
{
	r->pid_offset = bpf_core_field_offset(task->pid);
	r->has_state_field = bpf_core_field_exists(((struct task_struct___pre514 *)task)->state);
	r->has___state_field = bpf_core_field_exists(task->__state);
	r->comm_size = bpf_core_field_size(task->comm);
	r->pid_signed = bpf_core_field_signed(task->pid);
	r->flags_signed = bpf_core_field_signed(task->flags);
	r->task_exists = bpf_core_type_exists(struct task_struct);
	r->no_such_type_exists = bpf_core_type_exists(struct ebpy_no_such_type);
	r->task_size = bpf_core_type_size(struct task_struct);
	r->ca_loss_exists = bpf_core_enum_value_exists(enum tcp_ca_state, TCP_CA_Loss);
	r->ca_loss_value = bpf_core_enum_value(enum tcp_ca_state, TCP_CA_Loss);
	r->teleport_exists = bpf_core_enum_value_exists(enum tcp_ca_state___future, TCP_CA_Teleport___future);
	r->pidtype_max = bpf_core_enum_value(enum pid_type, PIDTYPE_MAX);
	r->ringbuf_drain_id = bpf_core_enum_value(enum bpf_func_id, BPF_FUNC_user_ringbuf_drain);
	r->task_local_id = bpf_core_type_id_local(struct task_struct);
	r->task_kernel_id = bpf_core_type_id_kernel(struct task_struct);
}

/* Reads through probe_read_kernel (kprobe, tracepoint and raw_tp programs). */
static __always_inline void fill_probed(struct core_result *r, struct task_struct *task)
{
	const unsigned char *name;

	r->pid = BPF_CORE_READ(task, pid);
	r->tgid = BPF_CORE_READ(task, tgid);
	r->ppid = BPF_CORE_READ(task, real_parent, tgid);
	r->flags = BPF_CORE_READ(task, flags);
	bpf_core_read(r->comm, sizeof(r->comm), &task->comm);
	r->arg_start = BPF_CORE_READ(task, mm, arg_start);
	name = BPF_CORE_READ(task, mm, exe_file, f_path.dentry, d_name.name);
	bpf_probe_read_kernel_str(r->exe, sizeof(r->exe), name);
	r->in_execve = BPF_CORE_READ_BITFIELD_PROBED(task, in_execve);
	r->reset_on_fork = BPF_CORE_READ_BITFIELD_PROBED(task, sched_reset_on_fork);
	fill_static(r, task);
}

static __always_inline struct core_result *slot(__u32 idx)
{
	return bpf_map_lookup_elem(&core_out, &idx);
}

SEC("kprobe/do_unlinkat")
int core_kprobe(struct pt_regs *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct core_result *r = slot(SLOT_KPROBE);

	if (!r)
		return 0;
	fill_probed(r, task);
	r->first_arg = ctx->di; /* int dfd */
	return 0;
}

struct sys_enter_unlinkat_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 dfd;
	const char *pathname;
	__u64 flag;
};

SEC("tracepoint/syscalls/sys_enter_unlinkat")
int core_tracepoint(struct sys_enter_unlinkat_ctx *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct core_result *r = slot(SLOT_TRACEPOINT);

	if (!r)
		return 0;
	fill_probed(r, task);
	r->first_arg = ctx->dfd;
	return 0;
}

SEC("raw_tp/sched_switch")
int core_raw_tp(struct bpf_raw_tracepoint_args *ctx)
{
	/* TP_PROTO(bool preempt, struct task_struct *prev, struct task_struct *next, ...) */
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct core_result *r = slot(SLOT_RAW_TP);

	if (!r)
		return 0;
	fill_probed(r, prev);
	r->first_arg = ctx->args[0];
	return 0;
}

SEC("tp_btf/sched_switch")
int core_tp_btf(__u64 *ctx)
{
	struct task_struct *next = (struct task_struct *)ctx[2];
	struct core_result *r = slot(SLOT_TP_BTF);

	if (!r)
		return 0;
	/* BTF pointers: direct loads, each one relocated */
	r->pid = next->pid;
	r->tgid = next->tgid;
	r->ppid = next->real_parent->tgid;
	r->flags = next->flags;
	r->first_arg = ctx[0];
	fill_static(r, next);
	return 0;
}

EBPY_LICENSE_GPL;
