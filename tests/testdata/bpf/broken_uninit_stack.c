/* BROKEN on purpose: reads stack memory that was never written.
 *
 * The map key is a stack variable that is never initialised, and its
 * address is passed to bpf_map_lookup_elem, which reads 4 bytes there. The
 * verifier tracks which stack slots hold data and must reject reading an
 * uninitialised one ("invalid read from stack R2 off=-4 size=4").
 *
 * Only for loaders without CAP_PERFMON: on recent kernels (6.18 here) a
 * privileged (perfmon-capable) loader may read uninitialised stack, so as
 * full root this program loads. Tests load it with CAP_PERFMON and CAP_SYS_ADMIN
 * dropped (CAP_BPF alone still allows a socket filter).
 */
#include "ebpy_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} slots SEC(".maps");

SEC("socket")
int broken_uninit_stack(struct __sk_buff *skb)
{
	__u32 key; /* never written */
	__u64 *v;

	asm volatile("" : "=m"(key)); /* tell clang the key is "set" so it keeps the call */
	v = bpf_map_lookup_elem(&slots, &key);
	return v ? (int)*v : 0;
}

EBPY_LICENSE_GPL;
