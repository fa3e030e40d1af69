/* Global data in every section kind a loader must map, used by XDP programs.
 *
 *   .data             initialised globals      (global_counter, .data map)
 *   .bss              zero-initialised globals (packets_seen, bytes_seen, last_len)
 *   .rodata           const volatile globals and const tables (threshold, table)
 *   .rodata.str1.1    string literals reached through a pointer (tag)
 *   .data.custom      a named data section (custom_data)
 *   .rodata.custom    a named read-only section (custom_ro)
 *   .kconfig          extern __kconfig values filled by the loader:
 *                     LINUX_KERNEL_VERSION, CONFIG_HZ, CONFIG_BPF_JIT (bool) and
 *                     CONFIG_EBPY_NO_SUCH_OPTION (weak: absent, reads 0)
 *
 * globals_count updates the counters and passes packets longer than
 * `threshold` bytes (drops shorter ones). globals_report overwrites the
 * first 32 bytes of the packet with what it sees (layout: struct report),
 * so a test-run shows the values the loader filled in, then returns XDP_TX;
 * packets shorter than 32 bytes are passed untouched.
 */
#include "ebpy_bpf.h"

/* .data */
__u32 global_counter = 5;
/* .bss */
__u64 packets_seen;
__u64 bytes_seen;
static __u32 last_len;
/* .rodata */
const volatile __u32 threshold = 60;
static const __u8 table[10] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3 }; /* not 8 or 16 bytes: no .rodata.cst* */
/* .rodata.str1.1: the literal is only reachable through this pointer */
static const char *const tag = "ebpy-globals";
/* named sections */
__u32 custom_data SEC(".data.custom") = 0x11223344;
const volatile __u32 custom_ro SEC(".rodata.custom") = 0x55667788;
/* .kconfig */
extern __u32 LINUX_KERNEL_VERSION __kconfig;
extern __u32 CONFIG_HZ __kconfig;
extern bool CONFIG_BPF_JIT __kconfig __weak;
extern __u32 CONFIG_EBPY_NO_SUCH_OPTION __kconfig __weak;

struct report {
	__u32 kernel_version;
	__u32 hz;
	__u32 global_counter;
	__u32 custom_data;
	__u32 custom_ro;
	__u32 threshold;
	__u8 jit;
	__u8 missing_option;
	__u8 table_pick;
	char tag_char;
	__u32 last_len;
};

SEC("xdp")
int globals_count(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	global_counter++;
	packets_seen++;
	bytes_seen += len;
	last_len = len;
	custom_data ^= len;
	return len > threshold ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int globals_report(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct report *r = data;
	__u32 len = data_end - data;

	if ((void *)(r + 1) > data_end)
		return XDP_PASS;
	r->kernel_version = LINUX_KERNEL_VERSION;
	r->hz = CONFIG_HZ;
	r->global_counter = global_counter;
	r->custom_data = custom_data;
	r->custom_ro = custom_ro;
	r->threshold = threshold;
	r->jit = CONFIG_BPF_JIT;
	r->missing_option = CONFIG_EBPY_NO_SUCH_OPTION;
	r->table_pick = table[len & 7];
	r->tag_char = tag[len & 7];
	r->last_len = last_len;
	return XDP_TX;
}

EBPY_LICENSE_GPL;
