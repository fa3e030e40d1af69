; tc: bpf_skb_change_proto IPv4<->IPv6 and back
    r6 = r1
    r7 = *(u32 *)(r6 +16)
    r2 = 0xdd86
    if r7 == 0x8 goto go
    r2 = 0x0008
go:
    r1 = r6
    r3 = *(u32 *)(r6 +0)
    r3 &= 1
    r3 ^= 1
    r3 &= 0
    call 31
    *(u32 *)(r6 +48) = r0
    r1 = *(u32 *)(r6 +16)
    *(u32 *)(r6 +52) = r1
    r1 = r6
    r2 = 0x0008
    r3 = 0
    call 31
    *(u32 *)(r6 +56) = r0
    r0 = *(u32 *)(r6 +0)
    exit
