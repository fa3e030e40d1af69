; xdp: bpf_xdp_load_bytes/store_bytes near the end, in the middle, at 3520 (fragments)
    r6 = r1
    r1 = r6
    call 188
    r7 = r0
    r2 = r7
    r2 -= 9
    r1 = r6
    r3 = r10
    r3 += -16
    r4 = 8
    call 189
    r8 = r0
    r1 = *(u64 *)(r10 -16)
    r1 ^= -1
    *(u64 *)(r10 -16) = r1
    r1 = r6
    r2 = r7
    r2 >>= 1
    r3 = r10
    r3 += -16
    r4 = 8
    call 190
    r8 += r0
    r1 = r6
    r2 = 3520
    r3 = r10
    r3 += -16
    r4 = 4
    call 190
    r8 += r0
    r0 = r8
    r0 <<= 20
    r0 += r7
    exit
