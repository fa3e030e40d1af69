/* Maps whose values bpftool formats by BTF: tests/btf/test_format.py loads this
 * object with `bpftool prog loadall`, fills the maps and compares
 * `bpftool [-j] map dump` with ebpy.btf.format on the same bytes. */

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

enum { BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2, BPF_MAP_TYPE_PERCPU_HASH = 5,
       BPF_MAP_TYPE_PERCPU_ARRAY = 6, BPF_MAP_TYPE_LRU_PERCPU_HASH = 10 };

enum color { RED = 0, GREEN = 1, BLUE = 7, NEG = -2 };
enum __attribute__((packed)) small { S_A = 1, S_B = 200 };
enum __attribute__((packed)) medium { M_A = 1, M_B = 0x1234 };
typedef enum color color_t;

struct flags {
	u32 a: 3;
	u32 b: 5;
	u32 c: 12;
	s32 d: 4;
	u64 e: 36;
	u8 f: 1;
};

union num {
	u32 u;
	s32 s;
	u8 bytes[4];
	struct { u16 lo, hi; } halves;
};

struct inner {
	s16 x;
	u16 y;
};

struct kitchen {
	s8 i8;
	u8 u8_;
	s16 i16;
	u16 u16_;
	s32 i32;
	u32 u32_;
	s64 i64;
	u64 u64_;
	_Bool flag;
	char ch;
	signed char sch;
	unsigned char uch;
	char name[8];
	char raw[4];
	void *ptr;
	struct inner *iptr;
	const volatile u32 cv;
	struct inner in;
	struct inner ins[2];
	union num n;
	enum color col;
	color_t col2;
	enum small sm;
	enum medium md;
	struct {
		u16 p;
		union {
			u8 q;
			s8 r;
		};
	} anon;
	u32 grid[2][3];
	struct flags fl;
	unsigned __int128 big;
	__int128 sbig;
	char names[2][6];
	u8 bytes[3];
	_Bool bits[2];
};

struct __attribute__((packed)) packed_rec {
	u8 tag;
	u32 len;
	u16 kind: 4, ver: 12;
	u64 stamp;
};

struct key2 {
	u32 id;
	char tag[4];
};

struct real {
	float f;
	double d;
	u32 after;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, u32);
	__type(value, struct kitchen);
} kitchen_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__type(key, struct key2);
	__type(value, union num);
} num_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, struct flags);
} flags_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, enum color);
	__type(value, u64);
} color_pcpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 4);
	__type(key, u16);
	__type(value, struct packed_rec);
} packed_lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, char[16]);
} str_arr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u64);
	__type(value, struct real);
} real_hash SEC(".maps");

u64 counter;
struct inner last_seen;
int gval = 5;
enum color gcolor = BLUE;
const char msg[6] = "hello";
const u32 limits[3] = { 1, 2, 3 };

SEC("xdp")
int prog(void *ctx)
{
	counter++;
	last_seen.x = gval;
	return gval + msg[1] + limits[counter & 1] + gcolor;
}

char _license[] SEC("license") = "GPL";
