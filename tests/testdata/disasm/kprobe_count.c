/* Count calls per process in a hash map (BTF-style map definition). */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, u32);
	__type(value, u64);
} counts SEC(".maps");

SEC("kprobe/do_sys_open")
int kprobe_count(struct pt_regs *regs)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *value;

	value = bpf_map_lookup_elem(&counts, &pid);
	if (value) {
		__sync_fetch_and_add(value, 1);
		return 0;
	}
	bpf_map_update_elem(&counts, &pid, &one, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
