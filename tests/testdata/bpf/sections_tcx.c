/* tcx SEC() conventions (Linux 6.6, libbpf 1.3).
 *
 * tcx/ingress and tcx/egress are sched_cls programs with expected attach
 * types BPF_TCX_INGRESS (46) and BPF_TCX_EGRESS (47), attached through
 * bpf_link rather than a qdisc. libbpf older than 1.3 (bpftool 7.1 here)
 * does not know the names, so a test loads this object with the type given
 * explicitly (`bpftool prog loadall ... type tc`). tcx programs return
 * TCX_NEXT (-1), TCX_PASS (0), TCX_DROP (2) or TCX_REDIRECT (7).
 */
#include "ebpy_bpf.h"

#define TCX_NEXT -1
#define TCX_PASS 0
#define TCX_DROP 2

SEC("tcx/ingress")
int sec_tcx_ingress(struct __sk_buff *skb)
{
	return skb->len > 9000 ? TCX_DROP : TCX_NEXT;
}

SEC("tcx/egress")
int sec_tcx_egress(struct __sk_buff *skb)
{
	return TCX_PASS;
}

EBPY_LICENSE_GPL;
