; tc: per-flow counters in a hash map (NOEXIST insert, atomic add, delete at 3)
    r6 = r1
    r1 = 0
    *(u32 *)(r10 -4) = r1
    r2 = *(u32 *)(r6 +76)
    r3 = *(u32 *)(r6 +80)
    r4 = r2
    r4 += 38
    if r4 > r3 goto key
    r1 = *(u32 *)(r2 +34)
    *(u32 *)(r10 -4) = r1
key:
    r1 = map[idx:0]
    r2 = r10
    r2 += -4
    call 1
    if r0 != 0 goto have
    r1 = 1
    *(u64 *)(r10 -16) = r1
    r1 = map[idx:0]
    r2 = r10
    r2 += -4
    r3 = r10
    r3 += -16
    r4 = 1
    call 2
    exit
have:
    r1 = 1
    lock *(u64 *)(r0 +0) += r1
    r1 = *(u64 *)(r0 +0)
    if r1 < 3 goto out
    r1 = map[idx:0]
    r2 = r10
    r2 += -4
    call 3
out:
    r0 = 7
    exit
