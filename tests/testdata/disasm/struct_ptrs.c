/* Reading kernel structures through bpf_probe_read and pointer chasing. */
#include "common.h"

struct task { int pid; int tgid; struct task *parent; char comm[16]; };

static __noinline int read_pid(struct task *t)
{
	int pid = 0;

	bpf_probe_read(&pid, sizeof(pid), &t->pid);
	return pid;
}

SEC("kprobe/wake_up_new_task")
int struct_ptrs(struct pt_regs *regs)
{
	struct task *t = (struct task *)regs->di;
	struct task *parent = 0;
	int depth = 0;

#pragma clang loop unroll(disable)
	for (int i = 0; i < 4 && t; i++) {
		bpf_probe_read(&parent, sizeof(parent), &t->parent);
		if (read_pid(t) == 1)
			break;
		t = parent;
		depth++;
	}
	return depth;
}

char LICENSE[] SEC("license") = "GPL";
