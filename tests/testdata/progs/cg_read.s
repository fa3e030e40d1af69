; cgroup_skb: direct reads from the network header, socket fields, mark write
    r6 = r1
    r2 = *(u32 *)(r6 +76)
    r3 = *(u32 *)(r6 +80)
    r7 = r3
    r7 -= r2
    *(u32 *)(r6 +48) = r7
    r4 = r2
    r4 += 1
    if r4 > r3 goto fields
    r5 = *(u8 *)(r2 +0)
    *(u32 *)(r6 +52) = r5
fields:
    r1 = *(u32 *)(r6 +88)
    r2 = *(u32 *)(r6 +92)
    r1 ^= r2
    r2 = *(u32 *)(r6 +96)
    r1 ^= r2
    r2 = *(u32 *)(r6 +100)
    r1 ^= r2
    r2 = *(u32 *)(r6 +128)
    r1 ^= r2
    *(u32 *)(r6 +56) = r1
    r1 = *(u32 *)(r6 +16)
    *(u32 *)(r6 +8) = r1
    r0 = r7
    r0 &= 1
    exit
