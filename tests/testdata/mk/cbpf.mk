# Classic BPF: what tcpdump -d, -dd and -ddd print for the filter expressions
# cbpf/<name>.expr (with the tcpdump options in cbpf/<name>.opts, if any:
# "-y LINUX_SLL" for another link type, "-i lo" for a live capture, which makes
# libpcap use Linux's ancillary VLAN loads and needs root).
#
#   make -C tests/testdata cbpf      # ../golden/cbpf/<name>.{d,dd,ddd}.txt
#
# tcpdump's "Warning: assuming Ethernet" goes to stderr and is not kept.

TCPDUMP ?= tcpdump

CBPF_EXPRS := $(wildcard cbpf/*.expr)
CBPF_GOLDENS := $(foreach e,$(CBPF_EXPRS),$(foreach l,d dd ddd,$(patsubst cbpf/%.expr,../golden/cbpf/%.$(l).txt,$(e))))

define cbpf_golden_rule
../golden/cbpf/%.$(1).txt: cbpf/%.expr $$(wildcard cbpf/%.opts)
	@mkdir -p ../golden/cbpf
	$$(TCPDUMP) $$$$(cat cbpf/$$*.opts 2>/dev/null) -$(1) "$$$$(cat $$<)" 2>/dev/null > $$@.tmp && mv $$@.tmp $$@
endef
$(foreach l,d dd ddd,$(eval $(call cbpf_golden_rule,$(l))))

.PHONY: cbpf
cbpf: $(CBPF_GOLDENS)

ALL_EXTRA += cbpf
CLEAN_EXTRA += $(CBPF_GOLDENS)
