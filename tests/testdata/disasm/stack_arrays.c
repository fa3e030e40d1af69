/* Arrays and structs on the stack: memset, memcpy, indexed stores. */
#include "common.h"

struct event { u32 pid; u32 cpu; u64 ts; char comm[16]; u8 flags[8]; };

SEC("kprobe/vfs_read")
int stack_arrays(struct pt_regs *regs)
{
	struct event ev;
	u32 hist[8];

	__builtin_memset(&ev, 0, sizeof(ev));
	__builtin_memset(hist, 0, sizeof(hist));
	ev.pid = bpf_get_current_pid_tgid();
	ev.cpu = bpf_get_smp_processor_id();
	ev.ts = bpf_ktime_get_ns();
	bpf_get_current_comm(ev.comm, sizeof(ev.comm));
	hist[ev.ts & 7] = 1;
	hist[(ev.ts >> 3) & 7] += 2;
	ev.flags[ev.cpu & 7] = 0x80;
	struct event copy;
	__builtin_memcpy(&copy, &ev, sizeof(copy));
	return copy.comm[0] + hist[1] + hist[6] + copy.flags[3];
}

char LICENSE[] SEC("license") = "GPL";
