/* Every BTF kind clang 14 emits, for the BTF parser, .BTF.ext and raw-dump tests.
 * Built little-endian (kinds.o) and big-endian (kinds_eb.o); see ../mk/btf.mk. */
typedef unsigned int u32;
typedef unsigned long long u64;

#define SEC(name) __attribute__((section(name), used))
#define __noinline __attribute__((noinline))
#define __tag(x) __attribute__((btf_decl_tag(x)))
#define __ttag(x) __attribute__((btf_type_tag(x)))
#define __ksym __attribute__((section(".ksyms")))
#define __kconfig __attribute__((section(".kconfig")))
#define __core __attribute__((preserve_access_index))

struct xdp_md { u32 data, data_end, data_meta, ingress_ifindex, rx_queue_index, egress_ifindex; };

struct fwd_struct;
union fwd_union;

enum color { RED, GREEN = 5, BLUE = -1 };

typedef int (*vararg_fn)(int, ...);

struct bits {
	unsigned int a : 3;
	int b : 5;
	unsigned long long c : 40;
	char d;
	union {
		int x;
		float y;
	};
	struct {
		short s;
	} inner;
	double dbl;
	int arr[2][3];
	struct fwd_struct *fs;
	union fwd_union *fu;
	vararg_fn fp;
	const volatile int cv;
	int *restrict rp;
	enum color col;
	int tagged __tag("member_tag");
	int __ttag("user") * tp;
	_Bool flag;
	__int128 wide;
	unsigned __int128 uwide;
	signed char sc;
	unsigned char uc;
	long l;
} __tag("struct_tag");

struct task {
	int pid;
	struct {
		int prio;
		unsigned int flags : 4;
	} sched;
	int comm[4];
} __core;

struct bits g_bits SEC(".data");
static volatile int counter __tag("var_tag");
const volatile u64 limit = 7;
char LICENSE[] SEC("license") = "GPL";

extern int CONFIG_HZ __kconfig;
extern int bpf_kfunc_probe(int value) __ksym;

static __noinline int helper(int x __tag("param_tag")) __tag("func_tag")
{
	return x * 3 + counter;
}

__noinline int global_helper(struct bits *b)
{
	return b->a + b->b + b->d;
}

SEC("xdp") int kinds_prog(struct xdp_md *ctx)
{
	struct task *t = (struct task *)(long)ctx->data;
	int r = helper(ctx->ingress_ifindex) + global_helper(&g_bits);

	r += t->sched.prio;
	r += __builtin_preserve_field_info(t->sched.flags, 0);
	r += __builtin_preserve_field_info(t->sched.flags, 1);
	r += __builtin_preserve_field_info(t->comm[2], 2);
	r += __builtin_preserve_field_info(t->sched.flags, 3);
	r += __builtin_preserve_field_info(t->sched.flags, 4);
	r += __builtin_preserve_field_info(t->sched.flags, 5);
	r += __builtin_btf_type_id(*t, 0);
	r += __builtin_btf_type_id(*t, 1);
	r += __builtin_preserve_type_info(*t, 0);
	r += __builtin_preserve_type_info(*t, 1);
	r += __builtin_preserve_enum_value(*(typeof(enum color) *)GREEN, 0);
	r += __builtin_preserve_enum_value(*(typeof(enum color) *)BLUE, 1);
	r += CONFIG_HZ + (int)limit;
	if (&bpf_kfunc_probe)
		r += bpf_kfunc_probe(r);
	return r;
}

SEC("tc") int second_prog(struct xdp_md *ctx)
{
	return helper(ctx->data_end) > 4;
}
