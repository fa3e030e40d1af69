# Sum the bytes of the input memory.
# On entry r1 points at the memory and r2 holds its length.
        r0 = 0
        r3 = r1
        r3 += r2            # r3 = one past the last byte
loop:
        if r1 >= r3 goto out
        r4 = *(u8 *)(r1 + 0)
        r0 += r4
        r1 += 1
        goto loop
out:
        exit
