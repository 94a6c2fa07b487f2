#!/bin/sh
# gate.sh: the msguard preflight gate for a CI pipeline (POSIX sh).
#
#   gate.sh [-o DIR] [--] CHECK_ARGS...
#
# Runs `msguard check --phase preflight CHECK_ARGS...` (CHECK_ARGS name the
# host: --server-root DIR or --snapshot FILE, plus --waivers, --fail-on-warn,
# ...), writes the reports to DIR (default: msguard-reports):
#   preflight.txt  preflight.json  preflight.xml (JUnit)  preflight.sarif  preflight.md
# and prints one summary line. Exit codes:
#   0  pass: ready (warnings allowed)
#   4  warn-only: ready with warnings, and --fail-on-warn was given
#   3  fail: not ready (at least one unwaived deny)
#   1  tool error: msguard could not judge (its own exit code is in the summary)
#   2  usage error of gate.sh itself
# Environment: MSGUARD (the msguard binary; default: msguard on PATH). Under
# GitHub Actions (GITHUB_ACTIONS=true) the summary is also an annotation, and the
# Markdown report is added to the job summary ($GITHUB_STEP_SUMMARY).
set -u

msguard=${MSGUARD:-msguard}
out=msguard-reports

usage() {
	echo "usage: gate.sh [-o DIR] [--] CHECK_ARGS... (e.g. --server-root /usr/iplanet/server5)" >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case $1 in
	-o)
		[ $# -ge 2 ] || usage
		out=$2
		shift 2
		;;
	--)
		shift
		break
		;;
	-h | --help) usage ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || usage

# annotate LEVEL TEXT: a GitHub Actions annotation when running there.
annotate() {
	if [ "${GITHUB_ACTIONS:-}" = true ]; then
		printf '::%s title=msguard preflight::%s\n' "$1" "$2"
	fi
}

if ! command -v "$msguard" >/dev/null 2>&1; then
	line="msguard gate: ERROR: msguard binary not found: $msguard (set MSGUARD)"
	echo "$line"
	annotate error "$line"
	exit 1
fi
if ! mkdir -p "$out"; then
	echo "msguard gate: ERROR: cannot create report directory $out"
	exit 1
fi
# Stale reports of an earlier run must not be published as this run's.
rm -f "$out/preflight.txt" "$out/preflight.json" "$out/preflight.xml" "$out/preflight.sarif" "$out/preflight.md"

"$msguard" check --phase preflight "$@" \
	--format text -o "$out/preflight.txt" \
	--report json="$out/preflight.json" \
	--report junit="$out/preflight.xml" \
	--report sarif="$out/preflight.sarif" \
	--report markdown="$out/preflight.md"
rc=$?

# The text report ends with "verdict ...: N deny, N warn, N error, N waived, N pass".
summary=
if [ -s "$out/preflight.txt" ]; then
	summary=$(grep '^verdict ' "$out/preflight.txt" | tail -n 1)
fi
case $rc in
0 | 3 | 4)
	if [ -z "$summary" ]; then
		line="msguard gate: ERROR: msguard exited $rc but wrote no report to $out"
		echo "$line"
		annotate error "$line"
		exit 1
	fi
	;;
esac

if [ "${GITHUB_STEP_SUMMARY:-}" ] && [ -s "$out/preflight.md" ]; then
	cat "$out/preflight.md" >>"$GITHUB_STEP_SUMMARY"
fi

case $rc in
0)
	line="msguard gate: PASS: $summary"
	echo "$line"
	annotate notice "$line"
	exit 0
	;;
4)
	line="msguard gate: WARN: $summary (--fail-on-warn)"
	echo "$line"
	annotate warning "$line"
	exit 4
	;;
3)
	line="msguard gate: FAIL: $summary"
	echo "$line"
	annotate error "$line"
	exit 3
	;;
*)
	line="msguard gate: ERROR: msguard exited $rc (see its message above)"
	echo "$line"
	annotate error "$line"
	exit 1
	;;
esac
