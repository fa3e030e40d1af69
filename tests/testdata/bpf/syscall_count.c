/* Count system calls per process and per system call number.
 *
 * Attached to the raw_syscalls/sys_enter tracepoint. The context layout is
 * the tracepoint's format file (events/raw_syscalls/sys_enter/format):
 * 8 bytes of common fields, then `long id` and `unsigned long args[6]`.
 * Counts per tgid go to a hash map; counts per syscall number (below 512)
 * to an array. A process can be ignored by setting `ignore_tgid` (.rodata).
 */
#include "ebpy_bpf.h"

#define MAX_SYSCALL_NR 512

struct sys_enter_ctx {
	__u16 common_type;
	__u8 common_flags;
	__u8 common_preempt_count;
	__s32 common_pid;
	long id;
	unsigned long args[6];
};

const volatile __u32 ignore_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);   /* tgid */
	__type(value, __u64); /* system calls entered */
	__uint(max_entries, 10240);
} counts_by_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);   /* system call number */
	__type(value, __u64);
	__uint(max_entries, MAX_SYSCALL_NR);
} counts_by_nr SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int syscall_count(struct sys_enter_ctx *ctx)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 one = 1, *n;
	__u32 nr;

	if (ignore_tgid && tgid == ignore_tgid)
		return 0;
	n = bpf_map_lookup_elem(&counts_by_pid, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts_by_pid, &tgid, &one, BPF_ANY);

	if (ctx->id < 0 || ctx->id >= MAX_SYSCALL_NR)
		return 0;
	nr = ctx->id;
	n = bpf_map_lookup_elem(&counts_by_nr, &nr);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}

EBPY_LICENSE_GPL;
