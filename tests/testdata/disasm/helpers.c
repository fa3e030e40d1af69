/* Helper calls with various argument kinds, including a format string. */
#include "common.h"

SEC("tracepoint/syscalls/sys_enter_write")
int helpers(void *ctx)
{
	char fmt[] = "pid %d cpu %u rnd %x\n";
	u64 pid = bpf_get_current_pid_tgid();
	u32 cpu = bpf_get_smp_processor_id();
	u32 rnd = bpf_get_prandom_u32();
	u64 value = 0;

	bpf_probe_read(&value, sizeof(value), ctx);
	bpf_trace_printk(fmt, sizeof(fmt), (u32)pid, cpu, rnd);
	return value > bpf_ktime_get_ns();
}

char LICENSE[] SEC("license") = "GPL";
