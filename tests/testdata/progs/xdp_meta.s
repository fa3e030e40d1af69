; xdp: bpf_xdp_adjust_meta -8 and write metadata
    r6 = r1
    r1 = r6
    r2 = -8
    call 54
    r7 = r0
    r2 = *(u32 *)(r6 +8)
    r3 = *(u32 *)(r6 +0)
    r4 = r2
    r4 += 8
    if r4 > r3 goto out
    r5 = *(u32 *)(r6 +4)
    r5 -= r3
    *(u32 *)(r2 +0) = r5
    r5 = 0xabcdef
    *(u32 *)(r2 +4) = r5
out:
    r1 = *(u32 *)(r6 +8)
    r2 = *(u32 *)(r6 +0)
    r2 -= r1
    r0 = r7
    r0 <<= 8
    r0 += r2
    exit
