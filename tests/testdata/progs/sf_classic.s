; socket filter: LD_ABS/LD_IND over the IPv4 header and ports, classic-filter style
    r6 = r1
    r0 = *(u8 *)skb[0]
    r7 = r0
    r7 &= 15
    r7 <<= 2
    r0 = *(u8 *)skb[9]
    if r0 == 6 goto tcp
    if r0 == 17 goto udp
    r0 = 0
    exit
tcp:
    r0 = *(u16 *)skb[r7 + 2]
    r8 = r0
    r0 = *(u32 *)skb[r7 + 4]
    r0 ^= r8
    exit
udp:
    r0 = *(u16 *)skb[r7 + 2]
    if r0 != 53 goto no
    r0 = -1
    exit
no:
    r0 = *(u8 *)skb[r7 + 1]
    exit
