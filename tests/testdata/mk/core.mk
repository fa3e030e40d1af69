# CO-RE: the test objects core/*.o and what libbpf makes of their relocations on
# this machine (../golden/core/NAME.libbpf.txt and NAME.PROG.xlated.txt, made by
# core/golden.sh through bpftool; needs root), and the part of this kernel's BTF
# each object uses (../golden/core/NAME.min.btf, `bpftool gen min_core_btf`), so
# that tests can relocate against it on any machine. The ambiguous_* objects
# fail to relocate on purpose and have no minimal BTF.
#
#   make -C tests/testdata core
#
# core/type_matches.o is rewritten by core/retag.py after compiling: clang 14
# cannot emit type_matches relocations, so its type_exists ones become them.

PYTHON ?= python3
BPFTOOL ?= bpftool

CORE_SRCS := $(wildcard core/*.c)
CORE_OBJS := $(CORE_SRCS:.c=.o)
CORE_GOLDENS := $(patsubst core/%.c,../golden/core/%.libbpf.txt,$(CORE_SRCS))
CORE_MIN_BTF := $(patsubst core/%.c,../golden/core/%.min.btf,$(filter-out core/ambiguous_%,$(CORE_SRCS)))
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux

core/type_matches.o: core/type_matches.c core/core.h core/retag.py
	$(CLANG) $(CFLAGS) -c $< -o core/type_matches.tmp.o
	$(PYTHON) core/retag.py core/type_matches.tmp.o $@
	rm -f core/type_matches.tmp.o

core/%.o: core/%.c core/core.h
	$(CLANG) $(CFLAGS) -c $< -o $@

../golden/core/%.libbpf.txt: core/%.o core/golden.sh
	sh core/golden.sh $< ../golden/core/$*

../golden/core/%.min.btf: core/%.o
	@mkdir -p ../golden/core
	$(BPFTOOL) gen min_core_btf $(VMLINUX_BTF) $@ $<

.PHONY: core
core: $(CORE_OBJS) $(CORE_GOLDENS) $(CORE_MIN_BTF)

ALL_EXTRA += core
CLEAN_EXTRA += $(CORE_OBJS) $(CORE_GOLDENS) $(CORE_MIN_BTF) $(wildcard ../golden/core/*.xlated.txt)
