; tc: swap MAC addresses and IPv4 addresses with direct packet access
    r2 = *(u32 *)(r1 +76)
    r3 = *(u32 *)(r1 +80)
    r4 = r2
    r4 += 14
    if r4 > r3 goto shot
    r5 = *(u32 *)(r2 +0)
    r6 = *(u16 *)(r2 +4)
    r7 = *(u32 *)(r2 +6)
    r8 = *(u16 *)(r2 +10)
    *(u32 *)(r2 +0) = r7
    *(u16 *)(r2 +4) = r8
    *(u32 *)(r2 +6) = r5
    *(u16 *)(r2 +10) = r6
    r5 = *(u16 *)(r2 +12)
    if r5 != 0x8 goto ok
    r4 = r2
    r4 += 34
    if r4 > r3 goto ok
    r5 = *(u32 *)(r2 +26)
    r6 = *(u32 *)(r2 +30)
    *(u32 *)(r2 +26) = r6
    *(u32 *)(r2 +30) = r5
ok:
    r0 = 0
    exit
shot:
    r0 = 2
    exit
