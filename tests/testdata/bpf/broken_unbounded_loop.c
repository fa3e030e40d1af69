/* BROKEN on purpose: a loop the verifier cannot prove to terminate.
 *
 * The loop runs until a random number is 0. Each iteration reaches the
 * loop head in the same abstract state (an unknown scalar), so the
 * verifier sees no progress and must reject the program ("infinite loop
 * detected"), or give up after its instruction budget ("BPF program is too
 * large").
 */
#include "ebpy_bpf.h"

SEC("xdp")
int broken_unbounded_loop(struct xdp_md *ctx)
{
	__u32 spins = 0;

	while (bpf_get_prandom_u32() != 0)
		spins++;
	return spins & 1 ? XDP_DROP : XDP_PASS;
}

EBPY_LICENSE_GPL;
