; xdp: swap MAC addresses, XDP_TX
    r2 = *(u32 *)(r1 +0)
    r3 = *(u32 *)(r1 +4)
    r4 = r2
    r4 += 14
    if r4 > r3 goto drop
    r5 = *(u32 *)(r2 +0)
    r6 = *(u16 *)(r2 +4)
    r7 = *(u32 *)(r2 +6)
    r8 = *(u16 *)(r2 +10)
    *(u32 *)(r2 +0) = r7
    *(u16 *)(r2 +4) = r8
    *(u32 *)(r2 +6) = r5
    *(u16 *)(r2 +10) = r6
    r0 = 3
    exit
drop:
    r0 = 1
    exit
