; tc: set_hash/get_hash_recalc/set_hash_invalid, change_type, csum_level, redirect
    r6 = r1
    r0 = *(u8 *)skb[5]
    r7 = r0
    r1 = r6
    r2 = *(u32 *)(r6 +0)
    r2 *= 3
    call 48
    r1 = r6
    call 34
    *(u32 *)(r6 +48) = r0
    r1 = *(u32 *)(r6 +68)
    *(u32 *)(r6 +52) = r1
    r1 = r6
    call 41
    r1 = *(u32 *)(r6 +68)
    *(u32 *)(r6 +56) = r1
    r1 = r6
    r2 = r7
    r2 &= 7
    call 32
    *(u32 *)(r6 +60) = r0
    r1 = *(u32 *)(r6 +4)
    *(u32 *)(r6 +64) = r1
    r1 = r6
    r2 = r7
    r2 &= 3
    call 135
    r1 = r7
    r2 = r7
    r2 >>= 6
    call 23
    exit
