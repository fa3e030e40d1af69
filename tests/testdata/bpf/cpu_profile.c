/* CPU profiler: sample stacks from a perf event.
 *
 * Attached to a sampling perf event (SEC("perf_event")), each sample takes
 * the kernel and user stack ids with bpf_get_stackid into a STACK_TRACE map
 * and counts samples per (tgid, comm, kernel stack, user stack) in a hash
 * map. A failed stack walk stores the negative error as the id, so samples
 * are never lost. Samples of the idle task (pid 0) are skipped unless
 * `include_idle` (.rodata) is set.
 */
#include "ebpy_bpf.h"
#include <linux/bpf_perf_event.h>

#define TASK_COMM_LEN 16
#define MAX_STACK_DEPTH 127 /* PERF_MAX_STACK_DEPTH */

const volatile bool include_idle = false;

struct sample_key {
	__u32 tgid;
	__s32 kernel_stack_id;
	__s32 user_stack_id;
	char comm[TASK_COMM_LEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
	__uint(max_entries, 4096);
} stack_traces SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct sample_key);
	__type(value, __u64);
	__uint(max_entries, 8192);
} sample_counts SEC(".maps");

SEC("perf_event")
int cpu_profile(struct bpf_perf_event_data *ctx)
{
	__u64 pid_tgid = bpf_get_current_pid_tgid();
	struct sample_key key = {};
	__u64 one = 1, *n;

	if (!include_idle && (__u32)pid_tgid == 0)
		return 0;
	key.tgid = pid_tgid >> 32;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.kernel_stack_id = bpf_get_stackid(ctx, &stack_traces, 0);
	key.user_stack_id = bpf_get_stackid(ctx, &stack_traces, BPF_F_USER_STACK);
	n = bpf_map_lookup_elem(&sample_counts, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&sample_counts, &key, &one, BPF_NOEXIST);
	return 0;
}

EBPY_LICENSE_GPL;
