/* Drop UDP packets to a few ports: byte swaps and a switch on the port. */
#include "common.h"

struct hdrs { u8 eth[12]; u16 proto; u8 ip[9]; u8 l4proto; u8 rest[10]; u16 sport, dport, len, csum; } __attribute__((packed));

SEC("xdp")
int xdp_udp_port(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *end = (void *)(long)ctx->data_end;
	struct hdrs *h = data;

	if ((void *)(h + 1) > end || h->proto != bpf_htons(0x0800) || h->l4proto != 17)
		return XDP_PASS;
	switch (bpf_htons(h->dport)) {
	case 53:
		return XDP_PASS;
	case 123:
	case 161:
	case 1900:
		return XDP_DROP;
	case 11211:
		return XDP_TX;
	default:
		return bpf_htons(h->sport) < 1024 ? XDP_PASS : XDP_DROP;
	}
}

char LICENSE[] SEC("license") = "GPL";
