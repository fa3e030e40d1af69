; socket filter: bpf_skb_load_bytes and load_bytes_relative (MAC and NET), results in cb[]
    r6 = r1
    r1 = r6
    r2 = *(u32 *)(r6 +0)
    r2 >>= 1
    r3 = r10
    r3 += -16
    r4 = 16
    call 26
    r7 = r0
    r1 = *(u64 *)(r10 -16)
    r2 = *(u64 *)(r10 -8)
    r1 ^= r2
    *(u32 *)(r6 +48) = r1
    r1 >>= 32
    *(u32 *)(r6 +52) = r1
    *(u32 *)(r6 +56) = r7
    r1 = r6
    r2 = 6
    r3 = r10
    r3 += -16
    r4 = 8
    r5 = 0
    call 68
    *(u32 *)(r6 +60) = r0
    r1 = *(u32 *)(r10 -16)
    *(u32 *)(r6 +64) = r1
    r1 = r6
    r2 = *(u32 *)(r6 +0)
    r2 -= 4
    r3 = r10
    r3 += -16
    r4 = 8
    r5 = 1
    call 68
    r0 += r7
    exit
