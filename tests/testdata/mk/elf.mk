# ELF loader: what libbpf makes of every test object, to compare the loader with.
#
#   make -C tests/testdata elf       # ../golden/elf/<dir>__<name>.libbpf.txt and sections.libbpf.txt
#
# <dir>__<name>.libbpf.txt is libbpf's debug log (through `bpftool -d prog
# loadall`, so it needs root and a mounted bpffs) cut down to the lines about
# relocations and linking: the map each lddw names, the subprograms appended
# to each program, the call offsets, the kconfig externs. Objects libbpf will
# not open (legacy "maps" sections, section names it does not know) give
# empty files. <dir>__<name>.htr.txt is `llvm-objdump -h -t -r` of the objects
# outside bpf/ (the bpf fragment makes those of bpf/), <dir>__<name>.dr.txt
# `llvm-objdump -d -r` of every object. sections.libbpf.txt is libbpf_prog_type_by_name() of a list of
# section names (elf/libbpf_sections.py, through libbpf.so.1).
# Run after the objects exist (make twice when a new area adds objects).

PYTHON ?= python3

ELF_DUMPED := $(sort $(wildcard bpf/*.o disasm/*.o core/*.o btf/*.o))
elf_golden = ../golden/elf/$(subst /,__,$(1:.o=)).libbpf.txt
ELF_GOLDENS := $(foreach o,$(ELF_DUMPED),$(call elf_golden,$(o))) ../golden/elf/sections.libbpf.txt

define elf_golden_rule
$(call elf_golden,$(1)): $(1) elf/libbpf_log.sh
	@mkdir -p ../golden/elf
	sh elf/libbpf_log.sh $(1) > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach o,$(ELF_DUMPED),$(eval $(call elf_golden_rule,$(o))))

../golden/elf/sections.libbpf.txt: elf/libbpf_sections.py
	@mkdir -p ../golden/elf
	$(PYTHON) elf/libbpf_sections.py > $@.tmp && mv $@.tmp $@

# llvm-objdump -h -t -r of the objects the bpf fragment has no goldens for.
ELF_HTR_OBJS := $(filter-out bpf/%,$(ELF_DUMPED))
elf_htr = ../golden/elf/$(subst /,__,$(1:.o=)).htr.txt
ELF_HTR := $(foreach o,$(ELF_HTR_OBJS),$(call elf_htr,$(o)))

define elf_htr_rule
$(call elf_htr,$(1)): $(1)
	@mkdir -p ../golden/elf
	cd $(dir $(1)) && $$(OBJDUMP) -h -t -r $(notdir $(1)) > $$(CURDIR)/$$@.tmp && mv $$(CURDIR)/$$@.tmp $$(CURDIR)/$$@
endef
$(foreach o,$(ELF_HTR_OBJS),$(eval $(call elf_htr_rule,$(o))))

# llvm-objdump -d -r (relocations inline) of every object.
elf_dr = ../golden/elf/$(subst /,__,$(1:.o=)).dr.txt
ELF_DR := $(foreach o,$(ELF_DUMPED),$(call elf_dr,$(o)))

define elf_dr_rule
$(call elf_dr,$(1)): $(1)
	@mkdir -p ../golden/elf
	cd $(dir $(1)) && $$(OBJDUMP) -d -r $(notdir $(1)) > $$(CURDIR)/$$@.tmp && mv $$(CURDIR)/$$@.tmp $$(CURDIR)/$$@
endef
$(foreach o,$(ELF_DUMPED),$(eval $(call elf_dr_rule,$(o))))

.PHONY: elf
elf: $(ELF_GOLDENS) $(ELF_HTR) $(ELF_DR)

ALL_EXTRA += elf
CLEAN_EXTRA += $(ELF_GOLDENS) $(ELF_HTR) $(ELF_DR)
