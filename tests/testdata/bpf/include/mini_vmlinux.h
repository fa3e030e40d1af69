/* mini_vmlinux.h - a hand-written subset of kernel types for CO-RE programs.
 *
 * Every struct here is marked preserve_access_index, so each field access
 * becomes a CO-RE relocation that the loader resolves against the running
 * kernel's BTF (/sys/kernel/btf/vmlinux). Field names and types follow
 * Linux 6.18; offsets and sizes do NOT need to match the kernel (that is the
 * point of CO-RE), only the names and kinds. Types whose name ends in
 * "___<flavour>" match the kernel type without the suffix (libbpf's rule).
 *
 * Not included: anything the programs do not read. pt_regs here uses the
 * kernel's x86-64 names (ax, di, ...), unlike the uapi <asm/ptrace.h> one, so
 * a program must not include both this header and <linux/bpf_perf_event.h>.
 */
#ifndef EBPY_MINI_VMLINUX_H
#define EBPY_MINI_VMLINUX_H

#include "ebpy_bpf.h"

#pragma clang attribute push(__attribute__((preserve_access_index)), apply_to = record)

struct qstr {
	union {
		struct {
			u32 hash;
			u32 len;
		};
		u64 hash_len;
	};
	const unsigned char *name;
};

struct dentry {
	unsigned int d_flags;
	struct dentry *d_parent;
	struct qstr d_name;
};

struct path {
	void *mnt;
	struct dentry *dentry;
};

struct inode {
	unsigned short i_mode;
	unsigned long i_ino;
};

/* In the kernel f_path sits inside an anonymous union; CO-RE finds it there. */
struct file {
	unsigned int f_mode;
	unsigned int f_flags;
	struct inode *f_inode;
	struct path f_path;
};

struct mm_struct {
	unsigned long arg_start;
	unsigned long arg_end;
	int map_count;
	struct file *exe_file;
};

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	int prio;
	struct mm_struct *mm;
	/* bitfields present in this kernel's task_struct */
	unsigned int sched_reset_on_fork : 1;
	unsigned int sched_contributes_to_load : 1;
	unsigned int in_execve : 1;
	unsigned int in_iowait : 1;
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct task_struct *group_leader;
	unsigned long long start_time;
	char comm[16];
};

struct cgroup {
	int level;
};

/* task_struct before Linux 5.14 had `long state`; this flavour asks for it. */
struct task_struct___pre514 {
	long state;
};

struct sock_common {
	union {
		unsigned long long skc_addrpair;
		struct {
			__be32 skc_daddr;
			__be32 skc_rcv_saddr;
		};
	};
	union {
		unsigned int skc_portpair;
		struct {
			__be16 skc_dport;
			__u16 skc_num;
		};
	};
	unsigned short skc_family;
	volatile unsigned char skc_state;
	unsigned char skc_reuse : 4;
	unsigned char skc_reuseport : 1;
	unsigned char skc_ipv6only : 1;
	unsigned char skc_net_refcnt : 1;
	int skc_bound_dev_if;
};

struct sock {
	struct sock_common __sk_common;
	int sk_rcvbuf;
	u32 sk_priority;
	u32 sk_mark;
	u16 sk_protocol;
	u16 sk_type;
	int sk_sndbuf;
};

struct inet_sock {
	struct sock sk;
	__be32 inet_saddr;
	__s16 uc_ttl;
	__be16 inet_sport;
};

/* x86-64 registers as the kernel names them (arch/x86/include/asm/ptrace.h). */
struct pt_regs {
	unsigned long r15, r14, r13, r12, bp, bx, r11, r10, r9, r8;
	unsigned long ax, cx, dx, si, di, orig_ax, ip;
	unsigned long cs, flags, sp, ss;
};

struct trace_entry {
	unsigned short type;
	unsigned char flags;
	unsigned char preempt_count;
	int pid;
};

/* Context of tracepoint raw_syscalls/sys_enter. */
struct trace_event_raw_sys_enter {
	struct trace_entry ent;
	long id;
	unsigned long args[6];
};

/* Context of tracepoint sock/inet_sock_set_state. */
struct trace_event_raw_inet_sock_set_state {
	struct trace_entry ent;
	const void *skaddr;
	int oldstate;
	int newstate;
	__u16 sport;
	__u16 dport;
	__u16 family;
	__u16 protocol;
	__u8 saddr[4];
	__u8 daddr[4];
	__u8 saddr_v6[16];
	__u8 daddr_v6[16];
};

/* A struct no kernel has: bpf_core_type_exists() must give 0 for it. */
struct ebpy_no_such_type {
	int never;
};

#pragma clang attribute pop

/* A kernel-internal enum (not in any uapi header). enum tcp_ca_state and
 * enum bpf_func_id come from the uapi headers <linux/tcp.h> and <linux/bpf.h>. */
enum pid_type {
	PIDTYPE_PID = 0,
	PIDTYPE_TGID = 1,
	PIDTYPE_PGID = 2,
	PIDTYPE_SID = 3,
	PIDTYPE_MAX = 4,
};

/* A flavour of tcp_ca_state with an enumerator the kernel lacks. */
enum tcp_ca_state___future {
	TCP_CA_Open___future = 0,
	TCP_CA_Teleport___future = 9,
};

/* TCP states (an anonymous enum in the kernel; values are part of the ABI). */
enum {
	TCP_ESTABLISHED = 1,
	TCP_SYN_SENT = 2,
	TCP_SYN_RECV = 3,
	TCP_FIN_WAIT1 = 4,
	TCP_FIN_WAIT2 = 5,
	TCP_TIME_WAIT = 6,
	TCP_CLOSE = 7,
	TCP_CLOSE_WAIT = 8,
	TCP_LAST_ACK = 9,
	TCP_LISTEN = 10,
	TCP_CLOSING = 11,
	TCP_NEW_SYN_RECV = 12,
};

#endif /* EBPY_MINI_VMLINUX_H */
