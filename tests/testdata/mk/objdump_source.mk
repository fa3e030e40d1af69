# llvm-objdump -S of the test objects outside bpf/ (bpf.mk makes those of bpf/).
#
#   make -C tests/testdata objdump_source   # ../golden/elf/<dir>__<name>.S.txt
#
# llvm-objdump runs here, in tests/testdata, on <dir>/<name>.o: the objects
# are built with this directory mapped to "." in their DWARF, so the source
# files it opens (././<dir>/<name>.c, relative to the current directory) are
# found from here. Run after the objects exist.

OBJDUMP_SOURCE_OBJS := $(filter-out bpf/% %_eb.o,$(sort $(wildcard */*.o)))
objdump_source_golden = ../golden/elf/$(subst /,__,$(1:.o=)).S.txt
OBJDUMP_SOURCE_GOLDENS := $(foreach o,$(OBJDUMP_SOURCE_OBJS),$(call objdump_source_golden,$(o)))

define objdump_source_rule
$(call objdump_source_golden,$(1)): $(1) $(wildcard $(1:.o=.c))
	@mkdir -p ../golden/elf
	$$(OBJDUMP) -S $(1) > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach o,$(OBJDUMP_SOURCE_OBJS),$(eval $(call objdump_source_rule,$(o))))

.PHONY: objdump_source
objdump_source: $(OBJDUMP_SOURCE_GOLDENS)

ALL_EXTRA += objdump_source
CLEAN_EXTRA += $(OBJDUMP_SOURCE_GOLDENS)
