; flow dissector: IPv4/IPv6 protocol, addresses and ports into bpf_flow_keys
    r6 = *(u64 *)(r1 +144)
    r2 = *(u32 *)(r1 +76)
    r3 = *(u32 *)(r1 +80)
    r4 = r2
    r4 += 14
    if r4 > r3 goto drop
    r5 = *(u16 *)(r2 +12)
    if r5 == 0xdd86 goto v6
    if r5 != 0x8 goto ok
    r4 = r2
    r4 += 38
    if r4 > r3 goto drop
    r5 = *(u8 *)(r2 +23)
    *(u8 *)(r6 +9) = r5
    r5 = *(u64 *)(r2 +26)
    *(u64 *)(r6 +16) = r5
    r5 = *(u32 *)(r2 +34)
    *(u32 *)(r6 +12) = r5
    r5 = 0x0008
    *(u16 *)(r6 +4) = r5
    r5 = *(u8 *)(r2 +14)
    r5 &= 15
    r5 <<= 2
    r5 += 14
    *(u16 *)(r6 +2) = r5
    goto ok
v6:
    r4 = r2
    r4 += 58
    if r4 > r3 goto drop
    r5 = *(u8 *)(r2 +20)
    *(u8 *)(r6 +9) = r5
    r5 = *(u64 *)(r2 +22)
    *(u64 *)(r6 +16) = r5
    r5 = *(u64 *)(r2 +30)
    *(u64 *)(r6 +24) = r5
    r5 = *(u32 *)(r2 +54)
    *(u32 *)(r6 +12) = r5
    r5 = 0xdd86
    *(u16 *)(r6 +4) = r5
    r5 = 54
    *(u16 *)(r6 +2) = r5
ok:
    r0 = 0
    exit
drop:
    r0 = 2
    exit
