# BTF: the test objects btf/*.c (little-endian btf/X.o and big-endian btf/X_eb.o)
# and the bpftool goldens ../golden/btf/<dir>__<name>.raw.txt of every object
# */*.o here (what `bpftool btf dump file <dir>/<name>.o` prints; empty when
# the object has no .BTF).
#
#   make -C tests/testdata btf
#
# Objects that other fragments build in the same run are picked up by the
# wildcard on the next run; run make twice after adding a new area.

BPFTOOL ?= bpftool

BTF_SRCS := $(wildcard btf/*.c)
BTF_OBJS := $(BTF_SRCS:.c=.o) $(BTF_SRCS:.c=_eb.o)
BTF_DUMPED := $(sort $(wildcard */*.o) $(BTF_OBJS))
btf_golden = ../golden/btf/$(subst /,__,$(1:.o=)).raw.txt
BTF_GOLDENS := $(foreach o,$(BTF_DUMPED),$(call btf_golden,$(o)))

# An object without a .BTF section gets an empty golden (bpftool fails on it).
define btf_golden_rule
$(call btf_golden,$(1)): $(1)
	@mkdir -p ../golden/btf
	if $$(OBJDUMP) -h $(1) | grep -q ' \.BTF '; then \
		$$(BPFTOOL) btf dump file $(1) > $$@.tmp && mv $$@.tmp $$@; \
	else : > $$@; fi
endef
$(foreach o,$(BTF_DUMPED),$(eval $(call btf_golden_rule,$(o))))

btf/%_eb.o: btf/%.c
	$(CLANG) $(subst -target bpf ,-target bpfeb ,$(CFLAGS) ) -c $< -o $@

btf/%.o: btf/%.c
	$(CLANG) $(CFLAGS) -c $< -o $@

.PHONY: btf
btf: $(BTF_OBJS) $(BTF_GOLDENS)

ALL_EXTRA += btf
CLEAN_EXTRA += $(BTF_OBJS) $(BTF_GOLDENS)
