# Packet summaries: what tcpdump -n prints for captures of the test corpus.
#
#   make -C tests/testdata summary
#
# summary/make_inputs.py writes summary/sample.pcap (the first 1,000 corpus
# packets) and summary/cuts.pcap (one frame of each corpus kind cut to every
# length); the goldens are tcpdump -n -tt -r of each (and -e for the sample),
# in ../golden/summary/. Epoch timestamps (-tt) keep them free of the time zone.

TCPDUMP ?= tcpdump
SUMMARY_PYTHON ?= ../../.venv/bin/python
SUMMARY_INPUTS := summary/sample.pcap summary/cuts.pcap
SUMMARY_GOLDENS := ../golden/summary/sample.txt ../golden/summary/sample.e.txt \
	../golden/summary/cuts.txt

.PHONY: summary
summary: $(SUMMARY_GOLDENS)

$(SUMMARY_INPUTS) &: summary/make_inputs.py ../../src/ebpy/pcap/corpus.py ../../src/ebpy/pcap/corpus_payloads.py
	PYTHONPATH=../../src $(SUMMARY_PYTHON) summary/make_inputs.py summary

../golden/summary/%.txt: summary/%.pcap
	@mkdir -p ../golden/summary
	$(TCPDUMP) -n -tt -r $< 2>/dev/null > $@.tmp && mv $@.tmp $@

../golden/summary/%.e.txt: summary/%.pcap
	@mkdir -p ../golden/summary
	$(TCPDUMP) -n -tt -e -r $< 2>/dev/null > $@.tmp && mv $@.tmp $@

ALL_EXTRA += summary
CLEAN_EXTRA += $(SUMMARY_GOLDENS)
