; xdp: strip an 802.1Q tag (move the MAC addresses, bpf_xdp_adjust_head 4)
    r6 = r1
    r2 = *(u32 *)(r6 +0)
    r3 = *(u32 *)(r6 +4)
    r4 = r2
    r4 += 18
    if r4 > r3 goto pass
    r5 = *(u16 *)(r2 +12)
    if r5 != 0x81 goto pass
    r5 = *(u64 *)(r2 +0)
    r7 = *(u32 *)(r2 +8)
    *(u32 *)(r2 +12) = r7
    *(u64 *)(r2 +4) = r5
    r1 = r6
    r2 = 4
    call 44
    r0 += 2
    exit
pass:
    r0 = 2
    exit
