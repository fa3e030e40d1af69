# BTF as C and values formatted by BTF: the test objects btf_c/*.c and
# btf_fmt/*.c, and the bpftool goldens ../golden/btf/<dir>__<name>.c.txt of
# every object */*.o here that has a .BTF section (what
# `bpftool btf dump file <dir>/<name>.o format c` prints).
#
#   make -C tests/testdata btf-c
#
# Objects that other fragments build in the same run are picked up by the
# wildcard on the next run; run make twice after adding a new area.

BPFTOOL ?= bpftool

BTFC_SRCS := $(wildcard btf_c/*.c btf_fmt/*.c)
BTFC_OBJS := $(BTFC_SRCS:.c=.o)
btfc_has_btf = $(shell $(OBJDUMP) -h $(1) 2>/dev/null | grep -q ' \.BTF ' && echo $(1))
BTFC_DUMPED := $(sort $(BTFC_OBJS) $(foreach o,$(wildcard */*.o),$(call btfc_has_btf,$(o))))
btfc_golden = ../golden/btf/$(subst /,__,$(1:.o=)).c.txt
BTFC_GOLDENS := $(foreach o,$(BTFC_DUMPED),$(call btfc_golden,$(o)))

define btfc_golden_rule
$(call btfc_golden,$(1)): $(1)
	@mkdir -p ../golden/btf
	$$(BPFTOOL) btf dump file $(1) format c > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach o,$(BTFC_DUMPED),$(eval $(call btfc_golden_rule,$(o))))

btf_c/%.o: btf_c/%.c
	$(CLANG) $(CFLAGS) -c $< -o $@

btf_fmt/%.o: btf_fmt/%.c
	$(CLANG) $(CFLAGS) -c $< -o $@

.PHONY: btf-c
btf-c: $(BTFC_OBJS) $(BTFC_GOLDENS)

ALL_EXTRA += btf-c
CLEAN_EXTRA += $(BTFC_OBJS) $(BTFC_GOLDENS)
