/* tc: rewrite a TCP/UDP port and fix the L4 checksum.
 *
 * tc_rewrite_dport (for ingress) turns destination port `from_port` into
 * `to_port`; tc_rewrite_sport (for egress) turns source port `to_port` back
 * into `from_port`, so a service on to_port answers as from_port. Both ports
 * are `const volatile` (.rodata), 8080 -> 80 by default. Only IPv4 without
 * fragments is handled. The port is written with bpf_skb_store_bytes and the
 * checksum patched with bpf_l4_csum_replace (a 2-byte change; for UDP a zero
 * checksum means "none" and stays zero: BPF_F_MARK_MANGLED_0). Rewrites are
 * counted per protocol in a per-CPU array.
 */
#include "ebpy_bpf.h"

const volatile __u16 from_port = 8080;
const volatile __u16 to_port = 80;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 2);
} rewrites SEC(".maps");

#define ETH_IP_OFF sizeof(struct ethhdr)

/* Rewrite the port at L4 offset `port_off` (0 = source, 2 = destination)
 * from `match` to `repl` (host order). Returns TC_ACT_OK or TC_ACT_SHOT. */
static __always_inline int rewrite(struct __sk_buff *skb, __u32 port_off, __u16 match, __u16 repl)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *iph;
	__u32 l4_off, csum_off, slot;
	__u64 csum_flags;
	__be16 old_port, new_port;
	__be16 *port;
	__u64 *n;

	if ((void *)(eth + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	iph = (void *)(eth + 1);
	if ((void *)(iph + 1) > data_end || iph->ihl < 5)
		return TC_ACT_OK;
	if (iph->frag_off & bpf_htons(0x3fff))
		return TC_ACT_OK;
	l4_off = ETH_IP_OFF + iph->ihl * 4;
	if (iph->protocol == IPPROTO_TCP) {
		csum_off = l4_off + __builtin_offsetof(struct tcphdr, check);
		csum_flags = sizeof(__u16);
		slot = 0;
	} else if (iph->protocol == IPPROTO_UDP) {
		csum_off = l4_off + __builtin_offsetof(struct udphdr, check);
		csum_flags = sizeof(__u16) | BPF_F_MARK_MANGLED_0;
		slot = 1;
	} else {
		return TC_ACT_OK;
	}
	if (l4_off > 60 + ETH_IP_OFF)
		return TC_ACT_OK;
	port = data + l4_off + port_off;
	if ((void *)(port + 1) > data_end)
		return TC_ACT_OK;
	old_port = *port;
	if (old_port != bpf_htons(match))
		return TC_ACT_OK;
	new_port = bpf_htons(repl);
	if (bpf_l4_csum_replace(skb, csum_off, old_port, new_port, csum_flags) < 0)
		return TC_ACT_SHOT;
	if (bpf_skb_store_bytes(skb, l4_off + port_off, &new_port, sizeof(new_port), 0) < 0)
		return TC_ACT_SHOT;
	n = bpf_map_lookup_elem(&rewrites, &slot);
	if (n)
		*n += 1;
	return TC_ACT_OK;
}

SEC("tc")
int tc_rewrite_dport(struct __sk_buff *skb)
{
	return rewrite(skb, 2, from_port, to_port);
}

SEC("tc")
int tc_rewrite_sport(struct __sk_buff *skb)
{
	return rewrite(skb, 0, to_port, from_port);
}

EBPY_LICENSE_GPL;
