; tc: bpf_skb_change_tail by a packet-derived amount; len and data_end after
    r6 = r1
    r7 = *(u32 *)(r6 +0)
    r0 = *(u8 *)skb[5]
    r8 = r0
    r0 = *(u8 *)skb[13]
    r0 ^= r8
    r0 &= 63
    r2 = r7
    if r0 > 31 goto grow
    r2 -= r0
    goto call
grow:
    r2 += r0
call:
    r1 = r6
    r3 = 0
    call 38
    *(u32 *)(r6 +48) = r0
    r1 = *(u32 *)(r6 +76)
    r2 = *(u32 *)(r6 +80)
    r2 -= r1
    *(u32 *)(r6 +52) = r2
    r0 = *(u32 *)(r6 +0)
    exit
