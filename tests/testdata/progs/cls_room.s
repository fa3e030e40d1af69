; tc: bpf_skb_adjust_room twice with packet-derived sizes, modes and flags
    r6 = r1
    r0 = *(u8 *)skb[22]
    r7 = r0
    r0 = *(u8 *)skb[23]
    r8 = r0
    r2 = r7
    r2 &= 31
    r2 -= 16
    r3 = r7
    r3 >>= 5
    r3 &= 1
    r4 = r8
    r1 = r6
    call 50
    *(u32 *)(r6 +48) = r0
    r1 = r6
    r2 = r8
    r2 &= 15
    r2 -= 8
    r3 = r8
    r3 >>= 7
    r4 = r7
    r4 &= 0x26
    call 50
    *(u32 *)(r6 +52) = r0
    r1 = *(u32 *)(r6 +16)
    *(u32 *)(r6 +56) = r1
    r0 = *(u32 *)(r6 +0)
    exit
