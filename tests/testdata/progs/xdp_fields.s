; xdp: ingress_ifindex, rx_queue_index, metadata and packet lengths
    r0 = *(u32 *)(r1 +12)
    r0 *= 31
    r2 = *(u32 *)(r1 +16)
    r0 += r2
    r0 *= 31
    r2 = *(u32 *)(r1 +0)
    r3 = *(u32 *)(r1 +8)
    r2 -= r3
    r0 += r2
    r0 *= 31
    r2 = *(u32 *)(r1 +4)
    r3 = *(u32 *)(r1 +0)
    r2 -= r3
    r0 += r2
    exit
