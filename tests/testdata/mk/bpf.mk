# The eBPF C test corpus: bpf/*.c -> bpf/*.o, and llvm-objdump goldens.
#
#   make -C tests/testdata bpf          # objects and ../golden/objdump/<name>.{htr,d,S}.txt
#   make -C tests/testdata bpf-cflags   # print the compiler flags (tests rebuild with them)
#
# clang runs inside bpf/ on the bare file name, and the build directory is
# mapped to "." in the debug info, so the objects do not depend on where
# the checkout lives, and llvm-objdump -S run inside bpf/ finds the sources.
# The uapi headers (linux/bpf.h, ...) come from linux-libc-dev; their asm/
# part lives in the multiarch include directory, which -target bpf does not
# search by itself.

BPF_DIR := bpf
BPF_GOLDEN_DIR := ../golden/objdump
BPF_MULTIARCH := $(shell $(CLANG) -print-multiarch 2>/dev/null)
BPF_CFLAGS := $(CFLAGS) -fdebug-prefix-map=$(CURDIR)/$(BPF_DIR)=. -Wall \
	-Iinclude -I/usr/include/$(BPF_MULTIARCH)

BPF_SRCS := $(sort $(wildcard $(BPF_DIR)/*.c))
BPF_HDRS := $(wildcard $(BPF_DIR)/include/*.h)
BPF_OBJS := $(BPF_SRCS:.c=.o)
BPF_NAMES := $(notdir $(basename $(BPF_SRCS)))
BPF_GOLDENS := $(foreach n,$(BPF_NAMES),$(foreach k,htr d S,$(BPF_GOLDEN_DIR)/$(n).$(k).txt))

.PHONY: bpf bpf-cflags
bpf: $(BPF_OBJS) $(BPF_GOLDENS)

bpf-cflags:
	@echo $(BPF_CFLAGS)

$(BPF_DIR)/%.o: $(BPF_DIR)/%.c $(BPF_HDRS)
	cd $(BPF_DIR) && $(CLANG) $(BPF_CFLAGS) -c $*.c -o $*.o

$(BPF_GOLDEN_DIR)/%.htr.txt: $(BPF_DIR)/%.o
	@mkdir -p $(BPF_GOLDEN_DIR)
	cd $(BPF_DIR) && $(OBJDUMP) -h -t -r $*.o > ../$(BPF_GOLDEN_DIR)/$*.htr.txt

$(BPF_GOLDEN_DIR)/%.d.txt: $(BPF_DIR)/%.o
	@mkdir -p $(BPF_GOLDEN_DIR)
	cd $(BPF_DIR) && $(OBJDUMP) -d $*.o > ../$(BPF_GOLDEN_DIR)/$*.d.txt

$(BPF_GOLDEN_DIR)/%.S.txt: $(BPF_DIR)/%.o $(BPF_DIR)/%.c
	@mkdir -p $(BPF_GOLDEN_DIR)
	cd $(BPF_DIR) && $(OBJDUMP) -S $*.o > ../$(BPF_GOLDEN_DIR)/$*.S.txt

ALL_EXTRA += bpf
CLEAN_EXTRA += $(BPF_OBJS) $(BPF_GOLDENS)
