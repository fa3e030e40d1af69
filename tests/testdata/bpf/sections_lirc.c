/* The lirc_mode2 SEC() convention: a program type that needs a kernel option.
 *
 * lirc_mode2 (BPF_PROG_TYPE_LIRC_MODE2, expected attach BPF_LIRC_MODE2)
 * decodes infrared remote-control pulses; the type exists only with
 * CONFIG_BPF_LIRC_MODE2, which the test machine's kernel lacks (it refuses
 * the type with EINVAL), so it lives apart from sections.c. The context is
 * one u32 sample: LIRC_MODE2 flags in the top byte, a duration below.
 */
#include "ebpy_bpf.h"

SEC("lirc_mode2")
int sec_lirc_mode2(unsigned int *sample)
{
	return (*sample >> 24) == 0x01 ? 0 : 0; /* 0x01: LIRC_MODE2_PULSE */
}

EBPY_LICENSE_GPL;
