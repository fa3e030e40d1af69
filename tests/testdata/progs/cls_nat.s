; tc: rewrite the IPv4 destination, fix IP and TCP/UDP checksums (pseudo header, mangled 0)
    r6 = r1
    r2 = *(u32 *)(r6 +76)
    r3 = *(u32 *)(r6 +80)
    r4 = r2
    r4 += 34
    if r4 > r3 goto ok
    r5 = *(u16 *)(r2 +12)
    if r5 != 0x8 goto ok
    r5 = *(u8 *)(r2 +14)
    if r5 != 0x45 goto ok
    r8 = *(u8 *)(r2 +23)
    r7 = *(u32 *)(r2 +30)
    r9 = 0x0900000a
    *(u32 *)(r2 +30) = r9
    r1 = r6
    r2 = 24
    r3 = r7
    r4 = r9
    r5 = 4
    call 10
    *(u32 *)(r6 +48) = r0
    r2 = 50
    r5 = 0x14
    if r8 == 6 goto l4
    r2 = 40
    r5 = 0x34
    if r8 == 17 goto l4
    goto ok
l4:
    r1 = r6
    r3 = r7
    r4 = r9
    call 11
    *(u32 *)(r6 +52) = r0
ok:
    r0 = 0
    exit
