# XDP: count packets per IPv4 protocol in a hash map (key: u32 protocol,
# value: u64 count) and drop everything from 10.0.0.1. Non-IPv4 counts as 0.
# Run:  ebpy run examples/xdp_count.s -t xdp --map counts:hash:4:8:256 --pcap examples/sample.pcap
        r2 = *(u32 *)(r1 +0)            # xdp_md->data
        r3 = *(u32 *)(r1 +4)            # xdp_md->data_end
        r6 = 0                          # protocol (0: not IPv4)
        r7 = 2                          # verdict: XDP_PASS
        r4 = r2
        r4 += 34                        # Ethernet (14) + IPv4 header (20)
        if r4 > r3 goto count
        r5 = *(u16 *)(r2 +12)           # ethertype, network order
        if r5 != 0x8 goto count         # 0x0800 read little-endian
        r6 = *(u8 *)(r2 +23)            # IPv4 protocol
        r5 = *(u32 *)(r2 +26)           # source address
        if r5 != 0x100000a goto count   # 10.0.0.1 read little-endian
        r7 = 1                          # XDP_DROP
count:
        *(u32 *)(r10 -4) = r6
        r1 = map[idx:0]
        r2 = r10
        r2 += -4
        call 1                          # bpf_map_lookup_elem
        if r0 == 0 goto new
        r1 = 1
        lock *(u64 *)(r0 +0) += r1
        r0 = r7
        exit
new:
        r1 = 1
        *(u64 *)(r10 -16) = r1
        r1 = map[idx:0]
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r4 = 0
        call 2                          # bpf_map_update_elem(BPF_ANY)
        r0 = r7
        exit
