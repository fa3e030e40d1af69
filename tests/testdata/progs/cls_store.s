; tc: bpf_skb_store_bytes at a length-derived offset with flags, read back
    r6 = r1
    r7 = *(u32 *)(r6 +0)
    r8 = r7
    r8 *= 7
    r8 &= 63
    r1 = 0x1122334455667788 ll
    *(u64 *)(r10 -8) = r1
    r1 = r6
    r2 = r8
    r3 = r10
    r3 += -8
    r4 = 8
    r5 = r7
    r5 &= 3
    call 9
    *(u32 *)(r6 +48) = r0
    r1 = r6
    r2 = r8
    r2 += 2
    r3 = r10
    r3 += -16
    r4 = 4
    call 26
    *(u32 *)(r6 +52) = r0
    r0 = *(u32 *)(r10 -16)
    r1 = *(u32 *)(r6 +68)
    *(u32 *)(r6 +56) = r1
    exit
