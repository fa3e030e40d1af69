#!/bin/sh
# golden.sh OBJ OUTBASE - record what libbpf (through bpftool) does with the
# CO-RE relocations of OBJ on this machine, for tests/btf/test_core_objects.py:
#
#   OUTBASE.libbpf.txt          a header naming the kernel and its BTF, then
#                               libbpf's CO-RE debug lines (bpftool -d) and the
#                               load's exit status
#   OUTBASE.PROG.xlated.txt     `bpftool prog dump xlated ... opcodes` of each
#                               program when the load succeeded
#
# Needs root, bpftool and a BPF file system at /sys/fs/bpf (mounted if missing).
set -eu
obj=$1
out=$2
BPFTOOL=${BPFTOOL:-bpftool}
VMLINUX=/sys/kernel/btf/vmlinux
pin=/sys/fs/bpf/ebpy_core_golden_$$
if [ "$(id -u)" != 0 ]; then
	echo "golden.sh: needs root to load $obj" >&2
	exit 1
fi
if ! grep -qs " /sys/fs/bpf bpf " /proc/mounts; then
	mount -t bpf bpf /sys/fs/bpf
fi
mkdir -p "$(dirname "$out")"
rm -f "$out".*.xlated.txt
log=$(mktemp)
status=0
$BPFTOOL -d prog loadall "$obj" "$pin" >"$log" 2>&1 || status=$?
{
	echo "# kernel $(uname -r)"
	echo "# vmlinux-btf-sha256 $(sha256sum "$VMLINUX" | cut -d' ' -f1)"
	echo "# $($BPFTOOL version | head -2 | tr '\n' ' ')"
	grep -E "^libbpf: (CO-RE relocating|sec '[^']*': found [0-9]+ CO-RE|prog '[^']*': relo #)" "$log" || true
	echo "# status $status"
} >"$out.libbpf.txt"
rm -f "$log"
if [ "$status" = 0 ]; then
	for p in "$pin"/*; do
		$BPFTOOL prog dump xlated pinned "$p" opcodes >"$out.$(basename "$p").xlated.txt"
	done
fi
rm -rf "$pin"
