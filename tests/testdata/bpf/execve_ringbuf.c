/* execve events through a BPF ring buffer.
 *
 * On syscalls/sys_enter_execve the program reserves an event in the ring
 * buffer, fills pid, uid, comm and the file name (read from user memory)
 * and submits it; when the name cannot be read the event is discarded.
 * On sys_exit_execve a small result record is copied in with
 * bpf_ringbuf_output. Context layouts follow the tracepoints' format files.
 */
#include "ebpy_bpf.h"

#define TASK_COMM_LEN 16
#define MAX_FILENAME 256

enum event_kind { EVENT_EXEC = 1, EVENT_EXIT = 2 };

struct exec_event {
	__u32 kind;
	__u32 pid;
	__u32 tgid;
	__u32 uid;
	char comm[TASK_COMM_LEN];
	char filename[MAX_FILENAME];
};

struct exit_event {
	__u32 kind;
	__u32 tgid;
	__s64 ret;
};

struct sys_enter_execve_ctx {
	__u64 common;       /* common_type, common_flags, common_preempt_count, common_pid */
	__s32 syscall_nr;
	__u32 pad;
	const char *filename;
	const char *const *argv;
	const char *const *envp;
};

struct sys_exit_execve_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	long ret;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024); /* bytes, a power of two multiple of the page size */
} exec_events SEC(".maps");

SEC("tp/syscalls/sys_enter_execve")
int execve_enter(struct sys_enter_execve_ctx *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct exec_event *ev;

	ev = bpf_ringbuf_reserve(&exec_events, sizeof(*ev), 0);
	if (!ev)
		return 0;
	ev->kind = EVENT_EXEC;
	ev->pid = (__u32)pid_tgid;
	ev->tgid = pid_tgid >> 32;
	ev->uid = (__u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(ev->comm, sizeof(ev->comm));
	if (bpf_probe_read_user_str(ev->filename, sizeof(ev->filename), ctx->filename) < 0) {
		bpf_ringbuf_discard(ev, 0);
		return 0;
	}
	bpf_ringbuf_submit(ev, 0);
	return 0;
}

SEC("tp/syscalls/sys_exit_execve")
int execve_exit(struct sys_exit_execve_ctx *ctx)
{
	struct exit_event ev = {
		.kind = EVENT_EXIT,
		.tgid = bpf_get_current_pid_tgid() >> 32,
		.ret = ctx->ret,
	};

	bpf_ringbuf_output(&exec_events, &ev, sizeof(ev), 0);
	return 0;
}

EBPY_LICENSE_GPL;
