; xdp: bpf_xdp_adjust_head -20 and write an outer header
    r6 = r1
    r1 = r6
    r2 = -20
    call 44
    if r0 != 0 goto out
    r2 = *(u32 *)(r6 +0)
    r3 = *(u32 *)(r6 +4)
    r4 = r2
    r4 += 34
    if r4 > r3 goto out
    r5 = *(u64 *)(r2 +20)
    *(u64 *)(r2 +0) = r5
    r5 = *(u32 *)(r2 +28)
    *(u32 *)(r2 +8) = r5
    r5 = 0x0008
    *(u16 *)(r2 +12) = r5
    r5 = 0x45
    *(u8 *)(r2 +14) = r5
    r5 = *(u32 *)(r6 +4)
    r1 = *(u32 *)(r6 +0)
    r5 -= r1
    r5 -= 14
    r5 = be16 r5
    *(u16 *)(r2 +16) = r5
    r0 = 2
    exit
out:
    r0 = 1
    exit
