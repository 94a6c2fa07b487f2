# msguard: make demo, make test, make bench. Works on a fresh Debian machine
# as root: missing Debian packages are installed on first use.

GO        ?= go
BIN       := bin
DEMO_DIR  ?= /tmp/msguard-demo
PKGS_TEST := slapd ldap-utils 389-ds-base libnss3-tools openssl e2fsprogs mount busybox dash chromium systemd ansible rpm bash-completion man-db python3
GOTEST_FLAGS ?= -timeout 40m

.PHONY: all build release deps test test-failpoints fuzz demo demo-clean bench bench-full vet clean ablate kill-sweep rehearse-kill-sweep

all: build

## deps: install the Debian packages the tests and the demo need (once).
deps:
	@./.ci/deps.sh $(PKGS_TEST)

## build: bin/msguard and bin/msguard-sim. msguard carries the commit it was built
## from (msguard version), also where GOFLAGS says -buildvcs=false.
build:
	$(GO) build -buildvcs=auto -o $(BIN)/msguard ./cmd/msguard
	$(GO) build -o $(BIN)/msguard-sim ./cmd/msguard-sim

# The release version: the tag vX.Y.Z on HEAD, else 0.0.0-dev.<commit time, UTC>.
RELEASE_VERSION ?= $(shell v=$$(git describe --tags --exact-match --match 'v[0-9]*' 2>/dev/null) && echo "$${v#v}" || \
  TZ=UTC git log -1 --format=0.0.0-dev.%cd --date=format-local:%Y%m%d%H%M%S)
RELEASE_ARCHES  ?= amd64 arm64 386
## release: static binaries (linux amd64, arm64, 386), a .deb and an .rpm of each (nfpm;
## with the systemd units, man pages and bash/zsh/fish completion), a CycloneDX SBOM and
## SHA256SUMS in $(BIN)/release; the same bytes for the same commit (TestRelease checks it).
release:
	@./deploy/release/release.sh $(BIN)/release $(RELEASE_VERSION) $(RELEASE_ARCHES)

## vet: go vet, and go.mod lists exactly what msguard imports (go mod tidy -diff prints nothing).
vet:
	$(GO) vet ./...
	$(GO) mod tidy -diff

## test: everything the tests need, then every test, real directories included,
## the kill-anywhere tests (failpoints build) and a short fuzz of every parser.
test: deps vet
	$(GO) test $(GOTEST_FLAGS) ./...
	$(MAKE) test-failpoints fuzz

## test-failpoints: the tests that SIGKILL a run at its journal writes and step boundaries.
test-failpoints:
	$(GO) test $(GOTEST_FLAGS) -tags failpoints ./internal/failpoint
	$(GO) test $(GOTEST_FLAGS) -tags failpoints -run 'TestJournalKill' ./remediate

## ablate: the ablation sweep: the upgrade of every variant (reference, the three
## clusters, two directory instances, the skip branches) once per step, with that
## step's do turned into a no-op; every run must be caught. The table goes to
## $(BIN)/ablation.md. make test runs a sample of it.
ablate: deps
	@mkdir -p $(BIN)
	MSGUARD_ABLATION=all MSGUARD_ABLATION_TABLE=$(CURDIR)/$(BIN)/ablation.md \
	  $(GO) test -timeout 240m -count=1 -run '^TestAblation$$' ./remediate
	@cat $(BIN)/ablation.md

## kill-sweep: remediate killed at every step boundary and journal write of the
## plan, then resumed; make test runs a spread of 9 points.
kill-sweep: deps
	MSGUARD_KILL_POINTS=all $(GO) test -timeout 240m -count=1 -run '^TestRemediateKillAnywhere$$' -v ./remediate

## rehearse-kill-sweep: a rehearsal killed at every point of its table (overlays,
## scratch directory load and serve, servers starting, backups, setup -k, restart);
## make test runs three of them.
rehearse-kill-sweep: deps
	MSGUARD_REHEARSE_KILL_POINTS=all $(GO) test -timeout 60m -count=1 -run '^TestRehearseKillPoints$$' -v ./cmd/msguard

# A count, not a duration: a time-based -fuzztime can end in "context deadline
# exceeded" while a new input is being minimised (a flake, not a finding).
FUZZTIME ?= 50000x
FUZZ_TARGETS := collectors/parse:FuzzINF collectors/parse:FuzzMsgConf collectors/parse:FuzzConfigFiles \
	collectors/parse:FuzzMailLogLine collectors/parse:FuzzVersions collectors/parse:FuzzQueueFileName \
	policies:FuzzParseWaivers collectors/facts:FuzzDecodeSnapshot judgement:FuzzDecodeReport \
	remediate/ldapexport:FuzzLDAPStream
## fuzz: every parser's fuzz target for FUZZTIME each (the corpora are in testdata/fuzz).
fuzz:
	@for pt in $(FUZZ_TARGETS); do \
	  pkg=$${pt%%:*}; t=$${pt#*:}; \
	  echo "fuzz $$t ($$pkg) for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) ./$$pkg || exit 1; \
	done

## demo: a simulated iPlanet 5.1 host on a real OpenLDAP, then msguard on it:
## check -> remediate -> audit, with the reports in $(DEMO_DIR)/reports.
demo: deps build
	@./.ci/demo.sh $(DEMO_DIR)

demo-clean:
	-$(BIN)/msguard-sim destroy --root $(DEMO_DIR)/server5

## bench: msguard against the standard tools on the same data, ratios printed
## (10^5 queue files and directory entries; BENCH_WINDOW=N adds the window row).
bench: deps build
	@./bench/run.sh

## bench-full: every row at 10^6 queue files and directory entries, with the
## window row (3 runs, two fresh hosts each): an hour or more on 2 cores.
bench-full: deps build
	@BENCH_QUEUE=1000000 BENCH_USERS=1000000 BENCH_WINDOW=$${BENCH_WINDOW:-3} BENCH_MARKDOWN=$(BIN)/bench-full.md ./bench/run.sh

clean:
	rm -rf $(BIN)
