; socket filter: per-IP-protocol byte counters in an array map (lookup, atomic add)
    r6 = r1
    r0 = *(u8 *)skb[9]
    *(u32 *)(r10 -4) = r0
    r1 = map[idx:0]
    r2 = r10
    r2 += -4
    call 1
    if r0 == 0 goto out
    r1 = *(u32 *)(r6 +0)
    lock *(u64 *)(r0 +0) += r1
    r0 = *(u64 *)(r0 +0)
    exit
out:
    r0 = 0
    exit
