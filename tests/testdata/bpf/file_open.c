/* openat events through a perf event array.
 *
 * On syscalls/sys_enter_openat the program fills an event on the stack
 * (pid, flags, comm, the path read from user memory) and sends it to the
 * current CPU's perf ring with bpf_perf_event_output(BPF_F_CURRENT_CPU).
 * `target_tgid` (.rodata, 0 = everyone) restricts it to one process. The
 * perf event array leaves max_entries unset: libbpf sizes it to the number
 * of possible CPUs. Context layout: events/syscalls/sys_enter_openat/format.
 */
#include "ebpy_bpf.h"

#define TASK_COMM_LEN 16
#define MAX_PATH 128

struct open_event {
	__u32 pid;
	__u32 tgid;
	__s32 dfd;
	__u32 flags;
	char comm[TASK_COMM_LEN];
	char path[MAX_PATH];
};

struct sys_enter_openat_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 dfd;
	const char *filename;
	__u64 flags;
	__u64 mode;
};

const volatile __u32 target_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} open_events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int file_open(struct sys_enter_openat_ctx *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct open_event ev = {};

	ev.tgid = pid_tgid >> 32;
	if (target_tgid && ev.tgid != target_tgid)
		return 0;
	ev.pid = (__u32)pid_tgid;
	ev.dfd = (__s32)ctx->dfd;
	ev.flags = (__u32)ctx->flags;
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	bpf_probe_read_user_str(ev.path, sizeof(ev.path), ctx->filename);
	bpf_perf_event_output(ctx, &open_events, BPF_F_CURRENT_CPU, &ev, sizeof(ev));
	return 0;
}

EBPY_LICENSE_GPL;
