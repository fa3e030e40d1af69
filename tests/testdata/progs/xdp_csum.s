; xdp: TTL decrement and bpf_csum_diff of the changed word
    r6 = r1
    r2 = *(u32 *)(r6 +0)
    r3 = *(u32 *)(r6 +4)
    r4 = r2
    r4 += 34
    if r4 > r3 goto pass
    r5 = *(u16 *)(r2 +12)
    if r5 != 0x8 goto pass
    r7 = *(u32 *)(r2 +20)
    *(u32 *)(r10 -8) = r7
    r8 = *(u8 *)(r2 +22)
    r8 -= 1
    *(u8 *)(r2 +22) = r8
    r8 = *(u32 *)(r2 +20)
    *(u32 *)(r10 -4) = r8
    r1 = r10
    r1 += -8
    r2 = 4
    r3 = r10
    r3 += -4
    r4 = 4
    r5 = 0
    call 28
    exit
pass:
    r0 = 2
    exit
