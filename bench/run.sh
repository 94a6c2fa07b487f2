#!/usr/bin/env bash
# make bench: msguard against the standard tools on the same generated data,
# in one run; prints one table of ratios and peak RSS.
#   BENCH_QUEUE=N  queue files (default 100000; 1000000 for the 10^6 run)
#   BENCH_USERS=N  directory entries (default 100000)
#   BENCH_RUNS=N   runs per measurement, median kept (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p bin
[ -x bin/opa ] || { echo "bench: building opa (the peer of policy evaluation) from the Go module cache" >&2; go build -o bin/opa github.com/open-policy-agent/opa; }
go build -o bin/msguard-bench ./bench
bin/msguard-bench -bin bin -queue "${BENCH_QUEUE:-100000}" -users "${BENCH_USERS:-100000}" -runs "${BENCH_RUNS:-3}" ${BENCH_JSON:+-json "$BENCH_JSON"}
