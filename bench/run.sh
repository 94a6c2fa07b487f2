#!/usr/bin/env bash
# make bench: msguard against the standard tools on the same generated data,
# in one run; prints one table of ratios and peak RSS.
#   BENCH_QUEUE=N  queue files (default 100000; 1000000 for the 10^6 run)
#   BENCH_USERS=N  directory entries (default 100000)
#   BENCH_RUNS=N   paired runs per row (default 10): min, median, max of the ratios
#   BENCH_MARKDOWN=FILE  the table in Markdown too (default bin/bench.md)
#   BENCH_ONLY=NAME[,NAME]  only the rows whose name holds one of them
#   BENCH_WINDOW=N       also the window row: N runs of msguard remediate vs the runbook
#                        by hand (bench/window/runbook.sh), each on two fresh hosts
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
# opa, the peer of policy evaluation, at the version msguard embeds; built
# outside msguard's module (go install pkg@version), so go.mod lists only
# what msguard itself imports.
[ -x bin/opa ] || {
  v=$(go list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
  echo "bench: building opa $v (the peer of policy evaluation)" >&2
  GOBIN="$PWD/bin" go install "github.com/open-policy-agent/opa@$v"
}
go build -o bin/msguard-bench ./bench
bin/msguard-bench -bin bin -queue "${BENCH_QUEUE:-100000}" -users "${BENCH_USERS:-100000}" -runs "${BENCH_RUNS:-10}" \
  -markdown "${BENCH_MARKDOWN:-bin/bench.md}" -window "${BENCH_WINDOW:-0}" ${BENCH_JSON:+-json "$BENCH_JSON"} ${BENCH_ONLY:+-only "$BENCH_ONLY"}
