/* SEC() conventions of programs attached through BPF trampolines.
 *
 * fentry/fexit/fmod_ret (BPF_PROG_TYPE_TRACING) and lsm/lsm_cgroup
 * (BPF_PROG_TYPE_LSM) name a kernel function; the loader resolves its BTF
 * id in vmlinux at load time (attach_btf_id). They load only where the
 * kernel can build trampolines for the caller: this test machine refuses
 * them with EPERM, so they live apart from sections.c. Targets exist in
 * this kernel's BTF: vfs_read, security_file_open, bpf_lsm_file_open.
 * The context is an array of u64 arguments (fexit: then the return value).
 */
#include "ebpy_bpf.h"

SEC("fentry/vfs_read")
int sec_fentry(__u64 *ctx)
{
	return 0;
}

SEC("fexit/vfs_read")
int sec_fexit(__u64 *ctx)
{
	return 0;
}

SEC("fentry.s/vfs_read")
int sec_fentry_sleepable(__u64 *ctx)
{
	return 0;
}

SEC("fmod_ret/security_file_open")
int sec_fmod_ret(__u64 *ctx)
{
	return 0; /* 0: let the function run and keep its return value */
}

SEC("lsm/file_open")
int sec_lsm(__u64 *ctx)
{
	return 0; /* 0: allow */
}

SEC("lsm.s/file_open")
int sec_lsm_sleepable(__u64 *ctx)
{
	return 0;
}

SEC("lsm_cgroup/file_open")
int sec_lsm_cgroup(__u64 *ctx)
{
	return 1; /* lsm_cgroup: 1 allows */
}

EBPY_LICENSE_GPL;
