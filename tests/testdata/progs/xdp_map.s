; xdp: per-protocol byte counters in an array map (atomic add, update BPF_EXIST)
    r6 = r1
    r1 = 0
    *(u32 *)(r10 -4) = r1
    r2 = *(u32 *)(r6 +0)
    r3 = *(u32 *)(r6 +4)
    r4 = r2
    r4 += 24
    if r4 > r3 goto look
    r1 = *(u8 *)(r2 +23)
    *(u32 *)(r10 -4) = r1
look:
    r1 = map[idx:0]
    r2 = r10
    r2 += -4
    call 1
    if r0 == 0 goto out
    r1 = *(u32 *)(r6 +4)
    r2 = *(u32 *)(r6 +0)
    r1 -= r2
    lock *(u64 *)(r0 +0) += r1
    r1 = *(u64 *)(r0 +0)
    *(u64 *)(r10 -16) = r1
    r1 = map[idx:0]
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = 2
    call 2
    r0 += 2
    exit
out:
    r0 = 1
    exit
