; xdp: bpf_xdp_adjust_tail by a packet-derived delta; xdp_get_buff_len
    r6 = r1
    r2 = *(u32 *)(r6 +0)
    r3 = *(u32 *)(r6 +4)
    r4 = r2
    r4 += 14
    r7 = 0
    if r4 > r3 goto go
    r7 = *(u8 *)(r2 +5)
go:
    r2 = r7
    r2 &= 63
    r2 -= 32
    r2 <<= 2
    r1 = r6
    call 65
    r7 = r0
    r1 = r6
    call 188
    r0 <<= 8
    r0 += r7
    exit
