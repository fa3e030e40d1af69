; tc: bpf_skb_vlan_push/pop chosen by a packet byte; VLAN fields and protocol into cb[]
    r6 = r1
    r0 = *(u8 *)skb[5]
    r8 = r0
    r8 &= 3
    if r8 == 0 goto pop2
    r1 = r6
    r2 = 0x0081
    r3 = 0x0123
    call 18
    if r8 == 1 goto done
    r1 = r6
    r2 = 0xa888
    r3 = 0xf456
    call 18
    if r8 == 2 goto done
    r1 = r6
    call 19
    goto done
pop2:
    r1 = r6
    call 19
    r7 = r0
    r1 = r6
    call 19
    r0 <<= 8
    r0 += r7
done:
    *(u32 *)(r6 +48) = r0
    r1 = *(u32 *)(r6 +20)
    *(u32 *)(r6 +52) = r1
    r1 = *(u32 *)(r6 +24)
    *(u32 *)(r6 +56) = r1
    r1 = *(u32 *)(r6 +28)
    *(u32 *)(r6 +60) = r1
    r1 = *(u32 *)(r6 +16)
    *(u32 *)(r6 +64) = r1
    r0 = *(u16 *)skb[12]
    r1 = *(u32 *)(r6 +0)
    r0 <<= 16
    r0 += r1
    exit
