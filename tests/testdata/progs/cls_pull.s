; tc: bpf_skb_pull_data with a packet-derived length, then a direct read
    r6 = r1
    r0 = *(u8 *)skb[5]
    r2 = r0
    r2 <<= 1
    r1 = r6
    call 39
    r7 = r0
    r2 = *(u32 *)(r6 +76)
    r3 = *(u32 *)(r6 +80)
    r4 = r2
    r4 += 20
    if r4 > r3 goto out
    r1 = *(u32 *)(r2 +16)
    r7 ^= r1
out:
    r0 = r7
    exit
