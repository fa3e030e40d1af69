; tc: decrement the IPv4 TTL and fix the checksum with bpf_l3_csum_replace (size 2)
    r6 = r1
    r2 = *(u32 *)(r6 +76)
    r3 = *(u32 *)(r6 +80)
    r4 = r2
    r4 += 34
    if r4 > r3 goto ok
    r5 = *(u16 *)(r2 +12)
    if r5 != 0x8 goto ok
    r7 = *(u16 *)(r2 +22)
    r8 = *(u8 *)(r2 +22)
    if r8 == 0 goto ok
    r8 -= 1
    *(u8 *)(r2 +22) = r8
    r9 = *(u16 *)(r2 +22)
    r1 = r6
    r2 = 24
    r3 = r7
    r4 = r9
    r5 = 2
    call 10
    exit
ok:
    r0 = 1
    exit
