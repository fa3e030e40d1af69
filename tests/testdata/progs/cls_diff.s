; tc: bpf_csum_diff on a copy of the IPv4 header (diff, from-only, odd to-only)
    r6 = r1
    r1 = r6
    r2 = 14
    r3 = r10
    r3 += -24
    r4 = 20
    call 26
    *(u32 *)(r6 +60) = r0
    r1 = *(u64 *)(r10 -24)
    *(u64 *)(r10 -48) = r1
    r1 = *(u64 *)(r10 -16)
    *(u64 *)(r10 -40) = r1
    r1 = *(u32 *)(r10 -8)
    *(u32 *)(r10 -32) = r1
    r1 = *(u8 *)(r10 -16)
    r1 -= 1
    *(u8 *)(r10 -40) = r1
    r1 = r10
    r1 += -24
    r2 = 20
    r3 = r10
    r3 += -48
    r4 = 20
    r5 = 0
    call 28
    *(u32 *)(r6 +48) = r0
    r1 = r10
    r1 += -24
    r2 = 20
    r3 = 0
    r4 = 0
    r5 = r0
    call 28
    *(u32 *)(r6 +52) = r0
    r1 = 0
    r2 = 0
    r3 = r10
    r3 += -48
    r4 = 7
    r5 = *(u32 *)(r10 -20)
    call 28
    *(u32 *)(r6 +56) = r0
    r0 = 0
    exit
