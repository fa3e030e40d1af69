; tc: bpf_skb_change_head 14, write a MAC header, load_bytes_relative from the network header
    r6 = r1
    r1 = r6
    r2 = 14
    r3 = 0
    call 43
    *(u32 *)(r6 +48) = r0
    r1 = 0x0102030405060708 ll
    *(u64 *)(r10 -16) = r1
    r1 = 0x0008090a0b0c0d0e ll
    *(u64 *)(r10 -8) = r1
    r1 = r6
    r2 = 0
    r3 = r10
    r3 += -16
    r4 = 14
    r5 = 0
    call 9
    *(u32 *)(r6 +52) = r0
    r1 = r6
    r2 = 0
    r3 = r10
    r3 += -24
    r4 = 4
    r5 = 1
    call 68
    *(u32 *)(r6 +56) = r0
    r0 = *(u32 *)(r10 -24)
    r1 = *(u32 *)(r6 +0)
    *(u32 *)(r6 +60) = r1
    exit
