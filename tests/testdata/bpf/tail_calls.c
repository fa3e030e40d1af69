/* Tail calls through a PROG_ARRAY whose slots are set in the object.
 *
 * `jump_table` is a BTF-defined PROG_ARRAY with `values` initialised to
 * programs of this object: slot 0 = tail_stage1, slot 2 = tail_stage2 (slot
 * 1 is empty), so a loader fills it after loading the programs. The chain:
 *
 *   tail_entry -> tail_call(0) -> tail_stage1 -> tail_call(2) -> tail_stage2
 *
 * Every stage counts itself in `stage_hits` (index = stage number). If a
 * tail call fails the caller continues: tail_entry then returns XDP_ABORTED,
 * tail_stage1 returns XDP_DROP. tail_stage2 tries the empty slot 1 (which
 * must fail and fall through) and returns XDP_PASS. So with the table
 * filled, a test-run of tail_entry returns XDP_PASS and counts 1 in each of
 * stage_hits[0..2].
 */
#include "ebpy_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 3);
} stage_hits SEC(".maps");

static __always_inline void hit(__u32 stage)
{
	__u64 *n = bpf_map_lookup_elem(&stage_hits, &stage);

	if (n)
		__sync_fetch_and_add(n, 1);
}

int tail_stage1(struct xdp_md *ctx);
int tail_stage2(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__uint(key_size, sizeof(__u32)); /* the kernel refuses BTF key types on prog arrays */
	__array(values, int(struct xdp_md *));
} jump_table SEC(".maps") = {
	.values = {
		[0] = (void *)&tail_stage1,
		[2] = (void *)&tail_stage2,
	},
};

SEC("xdp")
int tail_entry(struct xdp_md *ctx)
{
	hit(0);
	bpf_tail_call(ctx, &jump_table, 0);
	return XDP_ABORTED;
}

SEC("xdp")
int tail_stage1(struct xdp_md *ctx)
{
	hit(1);
	bpf_tail_call(ctx, &jump_table, 2);
	return XDP_DROP;
}

SEC("xdp")
int tail_stage2(struct xdp_md *ctx)
{
	hit(2);
	bpf_tail_call(ctx, &jump_table, 1);
	return XDP_PASS;
}

EBPY_LICENSE_GPL;
