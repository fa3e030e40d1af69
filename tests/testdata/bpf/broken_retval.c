/* BROKEN on purpose: returns a value outside its program type's range.
 *
 * A cgroup_skb ingress program may return only 0 (drop) or 1 (allow). The
 * verifier checks R0 at exit against the type's range and must reject 7
 * ("At program exit the register R0 has ... should have been in [0, 1]").
 */
#include "ebpy_bpf.h"

SEC("cgroup_skb/ingress")
int broken_retval(struct __sk_buff *skb)
{
	return 7;
}

EBPY_LICENSE_GPL;
