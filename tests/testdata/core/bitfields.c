/* Bitfields through field_info (byte offset and size, shifts, signedness):
 * sk_buff's flags (flat here, nested in anonymous unions/structs in the
 * kernel), task_struct's flag bits (some after an anonymous padding
 * bitfield), bpf_reg_state's enum and signed int bitfields inside a named
 * struct in an anonymous union, and signedness of ordinary and enum fields.
 * (Not a signed enum: clang 14 does not mark enums signed in BTF, so libbpf's
 * signedness would disagree with the compiler's and refuse the relocation.) */
#include "core.h"

struct sk_buff {
	unsigned int len;
	__u8 cloned : 1, nohdr : 1, fclone : 2, peeked : 1, head_frag : 1, pfmemalloc : 1,
		pp_recycle : 1;
	__u8 pkt_type : 3, ignore_df : 1, dst_pending_confirm : 1, ip_summed : 2, ooo_okay : 1;
	__u8 tstamp_type : 2, tc_at_ingress : 1;
	__u8 csum_level : 2, unreadable : 1;
	__u16 tc_index;
	__u32 mark;
} CORE_STRUCT;

struct task_struct {
	int prio;
	unsigned int flags;
	unsigned int sched_reset_on_fork : 1;
	unsigned int sched_remote_wakeup : 1;
	unsigned int in_execve : 1;
	unsigned int init_private_fork_class : 4;
	unsigned int in_nf_duplicate : 1;
} CORE_STRUCT;

enum bpf_iter_state { BPF_ITER_STATE_INVALID, BPF_ITER_STATE_ACTIVE, BPF_ITER_STATE_DRAINED };

struct bpf_reg_state {
	struct {
		u32 btf_id;
		enum bpf_iter_state state : 2;
		int depth : 30;
	} iter;
} CORE_STRUCT;

enum inode_state_flags_t { I_NEW = 1 };

struct inode {
	enum inode_state_flags_t i_state;
} CORE_STRUCT;

volatile u64 out[32];

SEC("tracepoint/syscalls/sys_enter_getppid")
int bits(void *ctx)
{
	struct sk_buff *skb = ctx;
	struct task_struct *t = get_current_task();
	struct bpf_reg_state *reg = ctx;
	struct inode *ino = ctx;

	out[0] = KREAD_BITS(skb, cloned);
	out[1] = KREAD_BITS(skb, fclone);
	out[2] = KREAD_BITS(skb, pp_recycle);
	out[3] = KREAD_BITS(skb, pkt_type);
	out[4] = KREAD_BITS(skb, ip_summed);
	out[5] = KREAD_BITS(skb, tc_at_ingress);
	out[6] = KREAD_BITS(skb, csum_level);
	out[7] = KREAD_BITS(t, sched_reset_on_fork);
	out[8] = KREAD_BITS(t, sched_remote_wakeup);
	out[9] = KREAD_BITS(t, init_private_fork_class);
	out[10] = KREAD_BITS(t, in_nf_duplicate);
	out[11] = KREAD_BITS(reg, iter.state);
	out[12] = KREAD_BITS(reg, iter.depth);
	out[13] = field_info(skb->tc_index, F_LSHIFT_U64);
	out[14] = field_info(skb->mark, F_RSHIFT_U64);
	out[15] = field_info(t->prio, F_SIGNED);
	out[16] = field_info(t->flags, F_SIGNED);
	out[17] = field_info(ino->i_state, F_SIGNED);
	out[18] = field_info(reg->iter.depth, F_SIGNED);
	out[19] = field_info(skb->unreadable, F_EXISTS);
	out[20] = field_info(t->in_execve, F_BYTE_SIZE);
	return 0;
}
