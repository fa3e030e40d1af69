# ebpy: make demo | make test | make check | make uapi | make testdata
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
SYSPKGS := clang llvm bpftool tcpdump bpftrace iproute2 linux-libc-dev
SYSBINS := clang llvm-objdump bpftool tcpdump bpftrace ip

.PHONY: demo test check lint typecheck layers sysdeps uapi uapi-check testdata bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(PY) pyproject.toml
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# Reference tools the tests diff against; installed when running as root and missing.
sysdeps:
	@missing=""; for b in $(SYSBINS); do command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	[ -f /usr/include/linux/bpf.h ] || missing="$$missing bpf.h"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing reference tools (missing:$$missing)"; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSPKGS) >/dev/null) \
	      || echo "warning: apt-get failed; tests that need these tools will be skipped"; \
	  else echo "note: missing$$missing; tests that need them will be skipped"; fi; \
	fi

demo: $(VENV)/.installed
	@echo "== assemble and disassemble a program"
	$(VENV)/bin/ebpy disasm examples/sum_bytes.s
	@echo "== run it on the userspace VM over 8 bytes of memory"
	$(VENV)/bin/ebpy run examples/sum_bytes.s --mem "01 02 03 04 05 06 07 08"
	@echo "== the same program as bytecode, bpftool style"
	$(VENV)/bin/ebpy asm examples/sum_bytes.s -o $(VENV)/sum_bytes.bin
	$(VENV)/bin/ebpy disasm --style bpftool $(VENV)/sum_bytes.bin
	@echo "== an XDP program with a hash map over every packet of a pcap, as BPF_PROG_TEST_RUN would run it"
	$(VENV)/bin/ebpy run examples/xdp_count.s -t xdp --map counts:hash:4:8:256 --pcap examples/sample.pcap -w $(VENV)/passed.pcap
	@echo "== a clang-built object (C source in tests/testdata/bpf/proto_count.c): its XDP program and BTF-defined map"
	$(VENV)/bin/ebpy run tests/testdata/bpf/proto_count.o --section xdp --pcap examples/sample.pcap

test: $(VENV)/.installed-dev sysdeps check
	$(PY) -m pytest -q -p no:cacheprovider

check: lint typecheck layers

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check src tests tools bench
	$(VENV)/bin/ruff format --check src tests tools bench

typecheck: $(VENV)/.installed-dev
	$(VENV)/bin/mypy --strict src/ebpy

layers: $(VENV)/.installed-dev
	$(VENV)/bin/lint-imports

uapi:
	$(PYTHON) tools/gen_uapi.py

uapi-check:
	$(PYTHON) tools/gen_uapi.py --check

testdata:
	$(MAKE) -C tests/testdata

bench: $(VENV)/.installed
	$(PY) bench/bench_interpreter.py

clean:
	rm -rf $(VENV) build src/*.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis
