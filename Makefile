# xvtep build. `make` builds everything; `make test` and `make demo` first
# install what is missing (Debian packages, npm modules).
SHELL := /bin/bash
MULTIARCH := $(shell gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
CLANG ?= clang
BPF_CFLAGS := -O2 -g -target bpf -D__TARGET_ARCH_x86 -Wall -Wno-unused-function -I bpf/include -I /usr/include/$(MULTIARCH) -MMD -MP

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,build/bpf/%.bpf.o,$(BPF_SRCS))
FIXTURE_SRCS := $(wildcard test/fixtures/*.bpf.c)
FIXTURE_OBJS := $(patsubst test/fixtures/%.bpf.c,build/fixtures/%.bpf.o,$(FIXTURE_SRCS))
BENCH_BPF_SRCS := $(wildcard bench/bpf/*.bpf.c)
BENCH_BPF_OBJS := $(patsubst bench/bpf/%.bpf.c,build/bench/%.bpf.o,$(BENCH_BPF_SRCS))
ADDON := native/build/Release/xvtep_native.node
NATIVE_SRCS := $(shell find native/src -name '*.cc' -o -name '*.h') native/binding.gyp
TS_SRCS := $(shell find src -name '*.ts')
TS_STAMP := dist/.stamp

.PHONY: all build bpf fixtures addon ts deps test demo demo-cluster bench bench-quick bench-bpf bench-binding bench-manager bench-cli bench-cluster clean lint reliability
all: build
build: bpf fixtures addon ts

bpf: $(BPF_OBJS)
fixtures: $(FIXTURE_OBJS)
addon: $(ADDON)
ts: $(TS_STAMP)

build/bpf/%.bpf.o: bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build/fixtures/%.bpf.o: test/fixtures/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

build/bench/%.bpf.o: bench/bpf/%.bpf.c
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# Header dependencies from -MMD: a change in bpf/include rebuilds only the
# objects that include it.
-include $(BPF_OBJS:.o=.d) $(FIXTURE_OBJS:.o=.d) $(BENCH_BPF_OBJS:.o=.d)

$(ADDON): $(NATIVE_SRCS) node_modules/.package-lock.json
	cd native && npx --no-install node-gyp rebuild --loglevel=error

# tsc builds dist/; the CLI's fast start is one esbuild bundle of it plus
# V8's code cache (scripts/bundle-cli.mjs, docs/cli.md).
$(TS_STAMP): $(TS_SRCS) tsconfig.json node_modules/.package-lock.json scripts/bundle-cli.mjs bin/xvtep $(ADDON)
	npx --no-install tsc -p tsconfig.json
	node scripts/bundle-cli.mjs
	@touch $@

node_modules/.package-lock.json: package-lock.json
	@scripts/ensure-deps.sh

deps:
	@scripts/ensure-deps.sh

# The suites that attach TC hooks, run a second time with netlink clsact
# filters forced (what kernels without tcx, < 6.6, get): the kernel-vxlan and
# three-host labs, adopt after SIGKILL, two instances, endpoint re-create and
# the continuity quick profile. test/helpers/tcmode.ts passes it as --tc-mode.
TC_NETLINK_TESTS := test/datapath/lab-kernel.test.ts test/datapath/lab-xvtep.test.ts test/daemon/traffic.test.ts \
  test/cli/instances.test.ts test/reliability/endpoint-recreate.test.ts test/reliability/continuity.test.ts \
  test/daemon/apply-kill.test.ts test/daemon/bpffs-gone.test.ts test/reconcile/two-instances.test.ts

# XVTEP_REQUIRE_KERNEL_TESTS=1 (set by CI) turns every skipped kernel test into a failure.
# test/bench/loop.test.ts runs the closed-loop generator against the bench's XDP ceiling (bench-bpf).
test: deps
	@$(MAKE) --no-print-directory build bench-bpf
	@for f in $(TC_NETLINK_TESTS); do [[ -f $$f ]] || { echo "Makefile: TC_NETLINK_TESTS names $$f, which does not exist (vitest would run nothing for it)" >&2; exit 1; }; done
	@rc=0; npx --no-install vitest run $(VITEST_ARGS) || rc=$$?; \
	  echo "== the TC-attaching labs again, with netlink clsact filters (kernels without tcx)"; \
	  XVTEP_TC_MODE=netlink npx --no-install vitest run $(TC_NETLINK_TESTS) $(VITEST_NETLINK_ARGS) || rc=$$?; \
	  exit $$rc

# Hostile packets, full profile: 1,000,000 fuzz inputs per program (override
# with XVTEP_FUZZ_INPUTS / XVTEP_FUZZ_SEED), the malformed corpus and the
# attacker namespace; every generated hostile config and command line; the
# 10-minute soak; then the summary table. `make test` runs the same files
# in the quick profile (50,000 inputs per program, a sample of the hostile
# cases, a 45 s soak).
# The daemon's fault tests (issue #15) run with the full profile too, so the
# summary holds every fault tried.
RELIABILITY_FAULT_TESTS = test/daemon/underlay-watch.test.ts test/daemon/apply-kill.test.ts test/daemon/state-full.test.ts test/daemon/bpffs-gone.test.ts

reliability: deps
	@$(MAKE) --no-print-directory build
	@rm -f build/reliability-summary.json
	XVTEP_RELIABILITY=full XVTEP_FUZZ_INPUTS=$${XVTEP_FUZZ_INPUTS:-1000000} npx --no-install vitest run test/reliability $(RELIABILITY_FAULT_TESTS) $(VITEST_ARGS); \
	  rc=$$?; node scripts/reliability-summary.mjs || rc=1; exit $$rc

demo: deps
	@$(MAKE) --no-print-directory build
	scripts/demo.sh

# Types, the layer rules of src/ (.dependency-cruiser.cjs: no upward import,
# no cycle, other folders only through their index.ts) and eslint
# (eslint.config.js) on src/, test/, bench/ and scripts/.
lint: node_modules/.package-lock.json
	npx --no-install tsc --noEmit -p tsconfig.json
	npx --no-install depcruise src --config .dependency-cruiser.cjs
	npx --no-install eslint src test bench scripts

clean:
	rm -rf build dist native/build

bench-binding: deps
	@$(MAKE) --no-print-directory build
	node bench/binding.mjs

# xvtep fdb replace vs node -e 0 vs bridge, xvtep -batch vs bridge -batch (bench/cli.mjs).
bench-cli: deps
	@$(MAKE) --no-print-directory build
	node bench/cli.mjs $(BENCH_ARGS)

bench-manager: deps
	@$(MAKE) --no-print-directory build bench-bpf
	node bench/manager.mjs $(BENCH_ARGS)

# Kernel VXLAN vs xvtep vs the XDP ceiling, same lab, same run (bench/README.md).
# Needs root; writes bench/results/<date>.{json,md,svg}. BENCH_ARGS passes options.
bench-bpf: $(BENCH_BPF_OBJS)

bench bench-quick: deps
	@$(MAKE) --no-print-directory build bench-bpf
	node bench/run.mjs $(if $(filter bench-quick,$@),--quick) $(BENCH_ARGS)

# The cluster (docs/cluster.md): start-up against 1,000 simulated members and
# learned-MAC propagation, against a real etcd (root; ~2 min).
bench-cluster: deps
	@$(MAKE) --no-print-directory build
	npx --no-install vitest run -c bench/cluster/vitest.config.ts

demo-cluster: deps
	@$(MAKE) --no-print-directory build
	npx --no-install vitest run -c scripts/demo-cluster/vitest.config.ts
