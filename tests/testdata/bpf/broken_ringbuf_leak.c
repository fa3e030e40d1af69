/* BROKEN on purpose: a ring buffer reservation that is never released.
 *
 * bpf_ringbuf_reserve returns a reference the program must pass to
 * bpf_ringbuf_submit or bpf_ringbuf_discard on every path. On the path
 * where the packet is short the program returns while holding it. The
 * verifier tracks acquired references and must reject the program
 * ("Unreleased reference").
 */
#include "ebpy_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int broken_ringbuf_leak(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;
	__u32 *ev = bpf_ringbuf_reserve(&events, sizeof(*ev), 0);

	if (!ev)
		return XDP_PASS;
	if (len < 64)
		return XDP_DROP; /* leaks ev */
	*ev = len;
	bpf_ringbuf_submit(ev, 0);
	return XDP_PASS;
}

EBPY_LICENSE_GPL;
