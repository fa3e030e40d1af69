/* Socket filter: keep DNS queries for names listed in a hash map.
 *
 * The skb data must start at the IPv4 header, as it does in
 * BPF_PROG_TEST_RUN of a socket filter and on an AF_PACKET SOCK_DGRAM
 * socket. The program reads the IPv4, UDP and DNS headers and then the
 * question name with bpf_skb_load_bytes (no direct packet access), builds
 * the name in DNS wire format (length-prefixed labels, a zero length at the
 * end, ASCII letters folded to lower case, zero padding up to 64 bytes) and
 * looks it up in `blocked_names`. A match counts a hit in the map value and
 * keeps the whole packet (returns skb->len); anything else is cut to 0 bytes.
 *
 * Example key for "example.com": "\x07example\x03com\x00" then zeros.
 */
#include "ebpy_bpf.h"

#define DNS_PORT 53
#define MAX_NAME 64

struct dns_name {
	unsigned char wire[MAX_NAME];
};

struct dns_hit {
	__u64 hits;
	__u64 last_len;
};

struct dnshdr {
	__be16 id;
	__be16 flags;
	__be16 qdcount;
	__be16 ancount;
	__be16 nscount;
	__be16 arcount;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct dns_name);
	__type(value, struct dns_hit);
	__uint(max_entries, 1024);
} blocked_names SEC(".maps");

/* Copy the question name at `off` into `name`; 0 on success, -1 if malformed. */
static __always_inline int read_qname(struct __sk_buff *skb, __u32 off, struct dns_name *name)
{
	__u32 label_at = 0; /* index of the next length byte */
	unsigned char c;
	int i;

	for (i = 0; i < MAX_NAME; i++) {
		if (bpf_skb_load_bytes(skb, off + i, &c, 1) < 0)
			return -1;
		if (i == label_at) {
			if (c == 0)
				return 0; /* the root label ends the name */
			if (c > 63)
				return -1; /* compression pointer or bad length */
			label_at = i + 1 + c;
		} else if (c >= 'A' && c <= 'Z') {
			c += 'a' - 'A';
		}
		name->wire[i] = c;
	}
	return -1; /* longer than MAX_NAME */
}

SEC("socket")
int dns_filter(struct __sk_buff *skb)
{
	struct dns_name name = {};
	struct dnshdr dns;
	struct udphdr udp;
	struct iphdr iph;
	struct dns_hit *hit;
	__u32 off;

	if (bpf_skb_load_bytes(skb, 0, &iph, sizeof(iph)) < 0)
		return 0;
	if (iph.version != 4 || iph.protocol != IPPROTO_UDP)
		return 0;
	if (iph.frag_off & bpf_htons(0x1fff))
		return 0; /* not the first fragment */
	off = iph.ihl * 4;
	if (bpf_skb_load_bytes(skb, off, &udp, sizeof(udp)) < 0)
		return 0;
	if (udp.dest != bpf_htons(DNS_PORT))
		return 0;
	off += sizeof(udp);
	if (bpf_skb_load_bytes(skb, off, &dns, sizeof(dns)) < 0)
		return 0;
	if (dns.flags & bpf_htons(0x8000))
		return 0; /* a response, not a query */
	if (dns.qdcount == 0)
		return 0;
	off += sizeof(dns);
	if (read_qname(skb, off, &name) < 0)
		return 0;
	hit = bpf_map_lookup_elem(&blocked_names, &name);
	if (!hit)
		return 0;
	__sync_fetch_and_add(&hit->hits, 1);
	hit->last_len = skb->len;
	return skb->len;
}

EBPY_LICENSE_GPL;
