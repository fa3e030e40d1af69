/* core.h - declarations shared by the CO-RE test programs (tests/testdata/core).
 *
 * Self-contained (no system headers): integer typedefs, SEC, the two helpers
 * the programs call (by their kernel ids) and small macros over clang's CO-RE
 * builtins. The kernel struct subsets live in each program, marked
 * preserve_access_index, with field names as in Linux 6.18's vmlinux BTF;
 * their layouts deliberately differ from the kernel's (CO-RE fixes them up).
 */
#ifndef EBPY_CORE_TEST_H
#define EBPY_CORE_TEST_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u8 u8;
typedef __u16 u16;
typedef __u32 u32;
typedef __u64 u64;
typedef __s64 s64;
typedef int pid_t;

#define SEC(name) __attribute__((section(name), used))
#define CORE_STRUCT __attribute__((preserve_access_index))

static long (*probe_read_kernel)(void *dst, u32 size, const void *src) = (void *)113;
static void *(*get_current_task)(void) = (void *)35;

/* clang's relocation kinds, as the builtins take them */
#define F_BYTE_OFFSET 0
#define F_BYTE_SIZE 1
#define F_EXISTS 2
#define F_SIGNED 3
#define F_LSHIFT_U64 4
#define F_RSHIFT_U64 5
#define T_EXISTS 0
#define T_SIZE 1
#define E_EXISTS 0
#define E_VALUE 1
#define ID_LOCAL 0
#define ID_TARGET 1

#define field_info(expr, what) __builtin_preserve_field_info(expr, what)
#define type_info(type, what) __builtin_preserve_type_info(*(type *)0, what)
#define enum_info(type, name, what) __builtin_preserve_enum_value(*(type *)name, what)
#define type_id(type, what) __builtin_btf_type_id(*(type *)0, what)

/* Copy a kernel value whose address is relocated (dst must be an lvalue). */
#define KREAD(dst, expr) \
	probe_read_kernel(&(dst), sizeof(dst), __builtin_preserve_access_index(&(expr)))

/* Read a bitfield of a kernel struct through one u64 and the field's relocated
 * byte offset, size and shifts. */
#define KREAD_BITS(ptr, field)                                                       \
	({                                                                            \
		u64 __v = 0;                                                          \
		const char *__p = (const char *)(ptr) + field_info((ptr)->field, F_BYTE_OFFSET); \
		probe_read_kernel(&__v, field_info((ptr)->field, F_BYTE_SIZE), __p);  \
		__v <<= field_info((ptr)->field, F_LSHIFT_U64);                       \
		if (field_info((ptr)->field, F_SIGNED))                               \
			__v = (u64)((s64)__v >> field_info((ptr)->field, F_RSHIFT_U64)); \
		else                                                                  \
			__v >>= field_info((ptr)->field, F_RSHIFT_U64);               \
		__v;                                                                  \
	})

char LICENSE[] SEC("license") = "GPL";

#endif
