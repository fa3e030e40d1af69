; xdp: bpf_redirect to a packet-derived ifindex with packet-derived flags
    r2 = *(u32 *)(r1 +0)
    r3 = *(u32 *)(r1 +4)
    r4 = r2
    r4 += 14
    r1 = 1
    r5 = 0
    if r4 > r3 goto go
    r1 = *(u8 *)(r2 +5)
    r5 = *(u8 *)(r2 +4)
    r5 &= 1
go:
    r2 = r5
    call 23
    exit
