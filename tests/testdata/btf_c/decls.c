/* C declarations that exercise `bpftool btf dump file X format c`:
 * tests/btf/test_dump_c.py compares ebpy.btf.dump_c with the golden
 * ../golden/btf/btf_c__decls.c.txt. Only types reachable from globals and
 * functions get BTF, hence the variables at the end. */

typedef unsigned char u8;
typedef unsigned int u32;
typedef unsigned long long u64;

/* layout: padding, packing, alignment, bitfields */
struct empty {};
struct pad_tail { long a; char b; };
struct pad_mid { char a; long b; char c; };
struct bits {
	unsigned a: 3;
	unsigned b: 5;
	int : 0;
	unsigned c: 7;
	u64 d: 40;
	char e;
	unsigned f: 1;
	unsigned : 0;
	long long g: 2;
};
struct __attribute__((packed)) pk { char a; int b; short c; };
struct outer_pk { char x; struct pk p; long y; };
struct __attribute__((packed)) pk_bits { char a; unsigned b: 20; long c; };
union __attribute__((packed)) upk { char a[3]; short b; };
struct al16 { char a; } __attribute__((aligned(16)));
struct al_member { int a; struct al16 b; char c __attribute__((aligned(32))); };
struct __attribute__((packed, aligned(4))) pk_al { char a; short b; };
struct big_gap { char a; char b __attribute__((aligned(64))); };

/* unions, anonymous members, nesting deeper than 12 levels */
union un { int a; char b[5]; struct { short x, y; } s; };
struct nest {
	struct { int a; union { char b; short c; }; } in;
	union { long l; } u2;
	struct { struct { struct { struct { struct { struct { struct { struct { struct { struct {
	struct { struct { struct { int deep; } l13; } l12; } l11; } l10; } l9; } l8; } l7; } l6; }
	l5; } l4; } l3; } l2; } l1;
	int tail;
};

/* enums */
enum e1 { A1 = 1, B1 = -3 };
enum e2 { A2 = 0xffffffff };
enum { ANON1 = 5, ANON2 };
typedef enum { TA, TB } tenum_t;
enum __attribute__((packed)) e_small { SM1 = 1, SM2 = 2 };
struct uses_enums { enum e1 a; enum { IN1, IN2 } b; tenum_t c; enum e_small d; };

/* typedefs, anonymous typedef'd structs, forward declarations and cycles */
typedef struct { int q; } anon_t;
typedef struct named named_t;
struct named { named_t *self; anon_t a; };
struct fwdonly;
struct usesfwd { struct fwdonly *p; union ufwd *u; };
struct self { struct self *next; struct other *o; };
struct other { struct self s; struct self *ps; };
typedef struct ring ring_t;
struct ring { ring_t *prev, *next; };

/* declarators */
typedef int (*fp_t)(int, const char *, ...);
typedef void (*fv_t)(void);
typedef int fn_t(long);
typedef char arr_t[4];
typedef arr_t arr2_t[2];
struct fns {
	fp_t a;
	int (*b[4])(void);
	void (*(*c)(int))(long);
	char *(*d)[3];
	const volatile int * restrict e;
	int * const f;
	const int * const g;
	fn_t *h;
	arr2_t i;
	int (*(*j)[2])(fv_t, fp_t);
	struct pad_tail (*k)(struct pad_tail, struct pad_tail *);
	const char * const *l[2];
	volatile u64 m;
	void *n;
	const void *o;
	void (* const p)(int x, int y);
};
struct arr { int m[2][3][4]; char s[16]; struct pad_mid p[2]; int z[0]; int (*pa)[5]; };
struct flex { int n; u8 data[]; };

/* BTF tags (clang 14): type tags on pointees, declaration tags */
#define __tag(x) __attribute__((btf_type_tag(x)))
#define __dtag(x) __attribute__((btf_decl_tag(x)))
struct tagged {
	int __dtag("member") a;
	int __tag("user") *p;
	int __tag("user") __tag("rcu") **pp;
	const int __tag("percpu") *cp;
} __dtag("struct");

/* name clashes: one struct tag used in two scopes */
struct clash { int file_scope; };
static int __attribute__((noinline)) use_local(int v)
{
	struct clash { long fn_scope; char c; };
	static volatile struct clash local;
	local.fn_scope = v;
	return local.c;
}

_Bool g_bool; float g_float; double g_double; __int128 g_i128; unsigned __int128 g_u128;
char g_char; signed char g_schar; unsigned char g_uchar; short g_short; long g_long;
struct empty g1; struct pad_tail g2; struct pad_mid g3; struct bits g4; struct outer_pk g5;
struct pk_bits g6; union upk g7; struct al_member g8; struct pk_al g9; struct big_gap g10;
union un g11; struct nest g12; struct uses_enums g13; enum e2 g14; named_t g15;
struct usesfwd g16; struct other g17; ring_t g18; struct fns g19; struct arr g20;
struct flex *g21; struct tagged g22; struct clash g23; int g24 = ANON1;
int __tag("user") *g25;

int __dtag("func") func(struct fns *f, int __dtag("param") x)
{
	return x + (f->a != 0) + use_local(x);
}
