#!/bin/sh
# What libbpf (through bpftool) says while it relocates and links an object:
# map definitions, the map each lddw names, subprograms appended, call
# offsets, initial slots of prog arrays and maps of maps, kconfig externs.
# Usage: sh libbpf_log.sh OBJECT > GOLDEN   (needs root and a mounted bpffs)
set -u
obj="$1"
pin="/sys/fs/bpf/ebpy_golden_$$"
${BPFTOOL:-bpftool} -d prog loadall "$obj" "$pin" 2>&1 \
	| grep -E "added [0-9]+ insns from sub-prog|insn #[0-9]+ relocated|found (data )?map [0-9]+|found extern #|map [0-9]+ is \"|extern \(kcfg\) #[0-9]+:|slot \[[0-9]+\] points to|^libbpf: map '[^']*'( \(global data\))?: (found|at sec_idx)" \
	| sed -e 's/^libbpf: //' -e 's/, fd=[0-9]*//'
rm -rf "$pin"
exit 0
