# pcap-filter: what tcpdump (libpcap 1.10) compiles for each expression of
# ../cbpf/pcap/expressions.txt (link type EN10MB, tcpdump's default when no
# interface is given: the code for capture files) and
# ../cbpf/pcap/expressions.<LINKTYPE>.txt (read with -r from an empty capture
# file of that link type, snapshot length 262144); EN10MB_LINUX is the code
# for a live Linux socket (tcpdump -i lo: the loopback is an Ethernet
# device), made only as root.
#
#   make -C tests/testdata pcapfilter
#
# Each golden ../golden/pcapfilter/<LINKTYPE>.<mode>.txt holds, for every
# expression, a line "### EXPR" and then what `tcpdump <mode> -- EXPR` printed
# on stdout, or one line "!error MESSAGE" when it failed. Modes: O-d (-O -d,
# not optimized), d (-d), O-dd (-O -dd) and dd (-dd).

TCPDUMP ?= tcpdump
PF_EXPR_DIR := ../cbpf/pcap
PF_GOLDEN_DIR := ../golden/pcapfilter
PF_MODES := O-d d O-dd dd
PF_FILE_LINKTYPES := RAW LINUX_SLL LINUX_SLL2 NULL LOOP
PF_LINKTYPES := EN10MB $(PF_FILE_LINKTYPES) $(if $(filter 0,$(shell id -u)),EN10MB_LINUX)
# link type number written into the capture file of each link type
PF_LT_RAW := 101
PF_LT_LINUX_SLL := 113
PF_LT_LINUX_SLL2 := 276
PF_LT_NULL := 0
PF_LT_LOOP := 108
# where tcpdump compiles for: nothing (a dead Ethernet handle), a file, a live interface
PF_SOURCE_EN10MB :=
PF_SOURCE_EN10MB_LINUX := -i lo
$(foreach lt,$(PF_FILE_LINKTYPES),$(eval PF_SOURCE_$(lt) := -r pcapfilter/$(lt).pcap))

pf_exprs = $(if $(filter EN10MB,$(1)),$(PF_EXPR_DIR)/expressions.txt,$(PF_EXPR_DIR)/expressions.$(1).txt)
PF_FLAGS_O-d := -O -d
PF_FLAGS_d := -d
PF_FLAGS_O-dd := -O -dd
PF_FLAGS_dd := -dd
PF_GOLDENS := $(foreach lt,$(PF_LINKTYPES),$(foreach m,$(PF_MODES),$(PF_GOLDEN_DIR)/$(lt).$(m).txt))
PF_CAPTURES := $(foreach lt,$(PF_FILE_LINKTYPES),pcapfilter/$(lt).pcap)

# An empty little-endian pcap file: magic, version 2.4, zone, sigfigs,
# snaplen 262144, then the link type (a byte; all ours are < 256 except
# LINUX_SLL2 = 276 = 0x114).
pcapfilter/%.pcap:
	@mkdir -p pcapfilter
	lt=$(PF_LT_$*); printf '\324\303\262\241\002\000\004\000\000\000\000\000\000\000\000\000\000\000\004\000' > $@; \
	printf "\\$$(printf %o $$((lt & 255)))\\$$(printf %o $$((lt >> 8)))\\000\\000" >> $@

define pf_golden_rule
$(PF_GOLDEN_DIR)/$(1).$(2).txt: $(call pf_exprs,$(1)) $(if $(filter $(1),$(PF_FILE_LINKTYPES)),pcapfilter/$(1).pcap)
	@mkdir -p $(PF_GOLDEN_DIR)
	@rm -f $$@.tmp; grep -v '^#' $$< | grep -v '^$$$$' | while IFS= read -r e; do \
		printf '### %s\n' "$$$$e" >> $$@.tmp; \
		if $(TCPDUMP) $(PF_SOURCE_$(1)) $$(PF_FLAGS_$(2)) -- "$$$$e" >> $$@.tmp 2> $$@.err; then :; \
		else printf '!error %s\n' "$$$$(grep -v '^Warning\|^reading from' $$@.err | head -1)" >> $$@.tmp; fi; \
	done; rm -f $$@.err; mv $$@.tmp $$@
endef
$(foreach lt,$(PF_LINKTYPES),$(foreach m,$(PF_MODES),$(eval $(call pf_golden_rule,$(lt),$(m)))))

.PHONY: pcapfilter
pcapfilter: $(PF_GOLDENS)

ALL_EXTRA += pcapfilter
CLEAN_EXTRA += $(PF_GOLDENS) $(PF_CAPTURES)
