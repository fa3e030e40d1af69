/* Send an event to user space with bpf_perf_event_output. */
#include "common.h"

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(u32));
	__uint(value_size, sizeof(u32));
} events SEC(".maps");

struct sample { u64 ts; u32 pid; u32 len; u16 port; u8 proto; u8 pad; };

SEC("kprobe/tcp_sendmsg")
int perf_output(struct pt_regs *regs)
{
	struct sample s = {
		.ts = bpf_ktime_get_ns(),
		.pid = bpf_get_current_pid_tgid() >> 32,
		.len = (u32)regs->dx,
		.port = 443,
		.proto = 6,
	};

	bpf_perf_event_output(regs, &events, 0xffffffffULL, &s, sizeof(s));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
