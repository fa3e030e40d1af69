/* ebpy_bpf.h - the small set of declarations the ebpy test programs need.
 *
 * Written for ebpy's test corpus (tests/testdata/bpf/); it is not libbpf's
 * bpf_helpers.h and shares no text with it. It provides:
 *   - kernel-style integer typedefs and attribute macros (SEC, __always_inline, ...)
 *   - BTF-defined map macros (__uint, __type, __array) and LIBBPF_PIN_BY_NAME
 *   - the legacy `struct bpf_map_def` and iproute2's `struct bpf_elf_map` layouts
 *   - the helper functions the corpus calls, with the kernel's helper ids
 *     (each id is checked against enum bpf_func_id of linux/bpf.h at compile time)
 *   - byte-order macros (bpf_htons & co)
 *   - CO-RE macros built directly on clang's BPF builtins.
 * Struct layouts of contexts (xdp_md, __sk_buff, ...) come from the uapi headers.
 */
#ifndef EBPY_BPF_H
#define EBPY_BPF_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>

/* ---- integer types as the kernel spells them ---------------------------- */
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s8 s8;
typedef __s16 s16;
typedef __s32 s32;
typedef __s64 s64;

#ifndef NULL
#define NULL ((void *)0)
#endif
typedef _Bool bool;
#define true 1
#define false 0

/* ---- attributes --------------------------------------------------------- */
/* Put a function or variable into an ELF section; `used` keeps it even when unreferenced. */
#define SEC(name) __attribute__((section(name), used))
#undef __always_inline
#define __always_inline inline __attribute__((always_inline))
#define __noinline __attribute__((noinline))
#define __weak __attribute__((weak))
#define __hidden __attribute__((visibility("hidden")))
/* Extern variables resolved by the loader: kernel symbols and Kconfig values. */
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))

/* ---- BTF-defined maps --------------------------------------------------- */
/* A map is a struct in SEC(".maps") whose members only carry types:
 *   __uint(name, N)       -> int (*name)[N]      the value N is the array length
 *   __type(name, T)       -> typeof(T) *name     the BTF of T
 *   __array(name, T)      -> typeof(T) *name[]   used for inner maps and prog arrays
 */
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]

enum ebpy_pin_type {
	LIBBPF_PIN_NONE = 0,
	LIBBPF_PIN_BY_NAME = 1,
};

/* Legacy map definition in SEC("maps"): five 32-bit words. */
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

/* iproute2's map definition in SEC("maps"): the legacy five words, then four more. */
struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

/* Values of bpf_elf_map.pinning. */
#define PIN_NONE 0
#define PIN_OBJECT_NS 1
#define PIN_GLOBAL_NS 2

/* ---- helper functions --------------------------------------------------- */
/* A helper is called through a pointer whose value is the helper's id; the
 * compiler emits `call <id>`. The assertion keeps each id equal to the uapi one. */
#define EBPY_HELPER(id, ret, name, args)                                        \
	_Static_assert((id) == BPF_FUNC_##name, "helper id of " #name);        \
	static ret(*bpf_##name) args = (void *)(id)

EBPY_HELPER(1, void *, map_lookup_elem, (void *map, const void *key));
EBPY_HELPER(2, long, map_update_elem, (void *map, const void *key, const void *value, __u64 flags));
EBPY_HELPER(3, long, map_delete_elem, (void *map, const void *key));
EBPY_HELPER(4, long, probe_read, (void *dst, __u32 size, const void *unsafe_ptr));
EBPY_HELPER(5, __u64, ktime_get_ns, (void));
EBPY_HELPER(6, long, trace_printk, (const char *fmt, __u32 fmt_size, ...));
EBPY_HELPER(7, __u32, get_prandom_u32, (void));
EBPY_HELPER(8, __u32, get_smp_processor_id, (void));
EBPY_HELPER(9, long, skb_store_bytes, (void *skb, __u32 offset, const void *from, __u32 len, __u64 flags));
EBPY_HELPER(10, long, l3_csum_replace, (void *skb, __u32 offset, __u64 from, __u64 to, __u64 size));
EBPY_HELPER(11, long, l4_csum_replace, (void *skb, __u32 offset, __u64 from, __u64 to, __u64 flags));
EBPY_HELPER(12, long, tail_call, (void *ctx, void *prog_array_map, __u32 index));
EBPY_HELPER(14, __u64, get_current_pid_tgid, (void));
EBPY_HELPER(15, __u64, get_current_uid_gid, (void));
EBPY_HELPER(16, long, get_current_comm, (void *buf, __u32 size_of_buf));
EBPY_HELPER(23, long, redirect, (__u32 ifindex, __u64 flags));
EBPY_HELPER(25, long, perf_event_output, (void *ctx, void *map, __u64 flags, void *data, __u64 size));
EBPY_HELPER(26, long, skb_load_bytes, (const void *skb, __u32 offset, void *to, __u32 len));
EBPY_HELPER(27, long, get_stackid, (void *ctx, void *map, __u64 flags));
EBPY_HELPER(28, __s64, csum_diff, (__be32 *from, __u32 from_size, __be32 *to, __u32 to_size, __wsum seed));
EBPY_HELPER(33, long, skb_under_cgroup, (struct __sk_buff *skb, void *map, __u32 index));
EBPY_HELPER(35, __u64, get_current_task, (void));
EBPY_HELPER(44, long, xdp_adjust_head, (struct xdp_md *xdp_md, int delta));
EBPY_HELPER(45, long, probe_read_str, (void *dst, __u32 size, const void *unsafe_ptr));
EBPY_HELPER(46, __u64, get_socket_cookie, (void *ctx));
EBPY_HELPER(51, long, redirect_map, (void *map, __u64 key, __u64 flags));
EBPY_HELPER(52, long, sk_redirect_map, (struct __sk_buff *skb, void *map, __u32 key, __u64 flags));
EBPY_HELPER(60, long, msg_redirect_map, (struct sk_msg_md *msg, void *map, __u32 key, __u64 flags));
EBPY_HELPER(71, long, msg_redirect_hash, (struct sk_msg_md *msg, void *map, void *key, __u64 flags));
EBPY_HELPER(67, long, get_stack, (void *ctx, void *buf, __u32 size, __u64 flags));
EBPY_HELPER(68, long, skb_load_bytes_relative, (const void *skb, __u32 offset, void *to, __u32 len, __u32 start_header));
EBPY_HELPER(81, void *, get_local_storage, (void *map, __u64 flags));
EBPY_HELPER(82, long, sk_select_reuseport, (struct sk_reuseport_md *reuse, void *map, void *key, __u64 flags));
EBPY_HELPER(87, long, map_push_elem, (void *map, const void *value, __u64 flags));
EBPY_HELPER(88, long, map_pop_elem, (void *map, void *value));
EBPY_HELPER(89, long, map_peek_elem, (void *map, void *value));
EBPY_HELPER(95, struct bpf_sock *, sk_fullsock, (struct bpf_sock *sk));
EBPY_HELPER(107, void *, sk_storage_get, (void *map, void *sk, void *value, __u64 flags));
EBPY_HELPER(112, long, probe_read_user, (void *dst, __u32 size, const void *unsafe_ptr));
EBPY_HELPER(113, long, probe_read_kernel, (void *dst, __u32 size, const void *unsafe_ptr));
EBPY_HELPER(114, long, probe_read_user_str, (void *dst, __u32 size, const void *unsafe_ptr));
EBPY_HELPER(115, long, probe_read_kernel_str, (void *dst, __u32 size, const void *unsafe_ptr));
EBPY_HELPER(130, long, ringbuf_output, (void *ringbuf, void *data, __u64 size, __u64 flags));
EBPY_HELPER(131, void *, ringbuf_reserve, (void *ringbuf, __u64 size, __u64 flags));
EBPY_HELPER(132, void, ringbuf_submit, (void *data, __u64 flags));
EBPY_HELPER(133, void, ringbuf_discard, (void *data, __u64 flags));
EBPY_HELPER(134, __u64, ringbuf_query, (void *ringbuf, __u64 flags));
EBPY_HELPER(145, void *, inode_storage_get, (void *map, void *inode, void *value, __u64 flags));
EBPY_HELPER(156, void *, task_storage_get, (void *map, void *task, void *value, __u64 flags));
EBPY_HELPER(158, void *, get_current_task_btf, (void));
EBPY_HELPER(164, long, for_each_map_elem, (void *map, void *callback_fn, void *callback_ctx, __u64 flags));
EBPY_HELPER(165, long, snprintf, (char *str, __u32 str_size, const char *fmt, __u64 *data, __u32 data_len));
EBPY_HELPER(181, long, loop, (__u32 nr_loops, void *callback_fn, void *callback_ctx, __u64 flags));
EBPY_HELPER(189, long, xdp_load_bytes, (struct xdp_md *xdp_md, __u32 offset, void *buf, __u32 len));
EBPY_HELPER(209, long, user_ringbuf_drain, (void *map, void *callback_fn, void *ctx, __u64 flags));

/* Helpers newer than the uapi headers of this machine (linux-libc-dev 6.1):
 * their ids cannot be checked against enum bpf_func_id. */
#define EBPY_HELPER_UNCHECKED(id, ret, name, args) static ret(*bpf_##name) args = (void *)(id)
EBPY_HELPER_UNCHECKED(210, void *, cgrp_storage_get, (void *map, void *cgroup, void *value, __u64 flags));

/* bpf_trace_printk with a format string kept on the stack (no .rodata needed). */
#define bpf_printk(fmt, ...)                                                    \
	({                                                                      \
		char ____fmt[] = fmt;                                           \
		bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__);      \
	})

/* ---- byte order (the BPF target here is little-endian) ------------------ */
#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "ebpy_bpf.h expects a little-endian BPF target (bpfel)"
#endif
#define bpf_htons(x) ((__be16)__builtin_bswap16((__u16)(x)))
#define bpf_ntohs(x) ((__u16)__builtin_bswap16((__u16)(x)))
#define bpf_htonl(x) ((__be32)__builtin_bswap32((__u32)(x)))
#define bpf_ntohl(x) ((__u32)__builtin_bswap32((__u32)(x)))
#define bpf_cpu_to_be64(x) ((__be64)__builtin_bswap64((__u64)(x)))
#define bpf_be64_to_cpu(x) ((__u64)__builtin_bswap64((__u64)(x)))

/* ---- CO-RE --------------------------------------------------------------- */
/* Second argument of __builtin_preserve_field_info: what to relocate. */
enum ebpy_field_info_kind {
	EBPY_FIELD_BYTE_OFFSET = 0,
	EBPY_FIELD_BYTE_SIZE = 1,
	EBPY_FIELD_EXISTS = 2,
	EBPY_FIELD_SIGNED = 3,
	EBPY_FIELD_LSHIFT_U64 = 4,
	EBPY_FIELD_RSHIFT_U64 = 5,
};
/* Second argument of __builtin_preserve_type_info. clang 14 knows 0 and 1 only
 * (TYPE_MATCHES, flag 2, came with clang 15). */
enum ebpy_type_info_kind {
	EBPY_TYPE_EXISTS = 0,
	EBPY_TYPE_SIZE = 1,
};
/* Second argument of __builtin_preserve_enum_value. */
enum ebpy_enum_value_kind {
	EBPY_ENUMVAL_EXISTS = 0,
	EBPY_ENUMVAL_VALUE = 1,
};
/* Second argument of __builtin_btf_type_id. */
enum ebpy_type_id_kind {
	EBPY_TYPE_ID_LOCAL = 0,
	EBPY_TYPE_ID_TARGET = 1,
};

/* Field relocations take an access expression such as `p->a.b`. */
#define bpf_core_field_exists(field) __builtin_preserve_field_info(field, EBPY_FIELD_EXISTS)
#define bpf_core_field_size(field) __builtin_preserve_field_info(field, EBPY_FIELD_BYTE_SIZE)
#define bpf_core_field_offset(field) __builtin_preserve_field_info(field, EBPY_FIELD_BYTE_OFFSET)
#define bpf_core_field_signed(field) __builtin_preserve_field_info(field, EBPY_FIELD_SIGNED)

/* Type relocations take a type (`struct task_struct`). */
#define bpf_core_type_exists(type) __builtin_preserve_type_info(*(typeof(type) *)0, EBPY_TYPE_EXISTS)
#define bpf_core_type_size(type) __builtin_preserve_type_info(*(typeof(type) *)0, EBPY_TYPE_SIZE)
#define bpf_core_type_id_local(type) __builtin_btf_type_id(*(typeof(type) *)0, EBPY_TYPE_ID_LOCAL)
#define bpf_core_type_id_kernel(type) __builtin_btf_type_id(*(typeof(type) *)0, EBPY_TYPE_ID_TARGET)

/* Enum relocations take the enum type and one of its enumerators. */
#define bpf_core_enum_value_exists(enum_type, enumerator)                       \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enumerator, EBPY_ENUMVAL_EXISTS)
#define bpf_core_enum_value(enum_type, enumerator)                              \
	__builtin_preserve_enum_value(*(typeof(enum_type) *)enumerator, EBPY_ENUMVAL_VALUE)

/* Read `sz` bytes at the relocated address `src` (an access expression's address). */
#define bpf_core_read(dst, sz, src)                                             \
	bpf_probe_read_kernel((void *)(dst), sz, (const void *)__builtin_preserve_access_index(src))

/* BPF_CORE_READ(p, a, b, c) reads p->a->b->c with one relocated probe read per
 * step: each intermediate pointer is read from kernel memory before the next. */
#define EBPY_CORE_STEP(dst, ptr, field)                                         \
	bpf_core_read(&(dst), sizeof(dst), &(ptr)->field)
#define EBPY_CORE_READ1(s, a)                                                   \
	({                                                                      \
		typeof((s)->a) __r1;                                            \
		EBPY_CORE_STEP(__r1, s, a);                                     \
		__r1;                                                           \
	})
#define EBPY_CORE_READ2(s, a, b)                                                \
	({                                                                      \
		typeof((s)->a) __p1 = EBPY_CORE_READ1(s, a);                    \
		EBPY_CORE_READ1(__p1, b);                                       \
	})
#define EBPY_CORE_READ3(s, a, b, c)                                             \
	({                                                                      \
		typeof((s)->a->b) __p2 = EBPY_CORE_READ2(s, a, b);              \
		EBPY_CORE_READ1(__p2, c);                                       \
	})
#define EBPY_CORE_READ4(s, a, b, c, d)                                          \
	({                                                                      \
		typeof((s)->a->b->c) __p3 = EBPY_CORE_READ3(s, a, b, c);        \
		EBPY_CORE_READ1(__p3, d);                                       \
	})
#define EBPY_CORE_READ5(s, a, b, c, d, e)                                       \
	({                                                                      \
		typeof((s)->a->b->c->d) __p4 = EBPY_CORE_READ4(s, a, b, c, d);  \
		EBPY_CORE_READ1(__p4, e);                                       \
	})
#define EBPY_CORE_PICK(_1, _2, _3, _4, _5, NAME, ...) NAME
#define BPF_CORE_READ(s, ...)                                                   \
	EBPY_CORE_PICK(__VA_ARGS__, EBPY_CORE_READ5, EBPY_CORE_READ4,           \
		       EBPY_CORE_READ3, EBPY_CORE_READ2, EBPY_CORE_READ1, _)(s, __VA_ARGS__)

/* Read a bitfield: fetch the bytes that hold it at the relocated offset and
 * size into the low end of a u64, shift its top bit to bit 63, then shift
 * back down (arithmetic when the field is signed). */
#define BPF_CORE_READ_BITFIELD_PROBED(s, field)                                 \
	({                                                                      \
		unsigned long long __bits = 0;                                  \
		bpf_probe_read_kernel(&__bits,                                  \
			__builtin_preserve_field_info((s)->field, EBPY_FIELD_BYTE_SIZE), \
			(const char *)(s) +                                     \
			__builtin_preserve_field_info((s)->field, EBPY_FIELD_BYTE_OFFSET)); \
		__bits <<= __builtin_preserve_field_info((s)->field, EBPY_FIELD_LSHIFT_U64); \
		if (__builtin_preserve_field_info((s)->field, EBPY_FIELD_SIGNED)) \
			__bits = (unsigned long long)((long long)__bits >>       \
				__builtin_preserve_field_info((s)->field, EBPY_FIELD_RSHIFT_U64)); \
		else                                                            \
			__bits >>= __builtin_preserve_field_info((s)->field, EBPY_FIELD_RSHIFT_U64); \
		__bits;                                                         \
	})

/* The license every program in the corpus is under (GPL helpers need it). */
#define EBPY_LICENSE_GPL char _license[] SEC("license") = "GPL"

#endif /* EBPY_BPF_H */
