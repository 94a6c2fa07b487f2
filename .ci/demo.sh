#!/usr/bin/env bash
# make demo: a simulated iPlanet Messaging Server 5.1 host on a real OpenLDAP,
# then msguard on it as an operator would use it. Leaves the reports in
# DEMO_DIR/reports; DEMO_KEEP=1 keeps the host running afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
demo=${1:-/tmp/msguard-demo}
root=$demo/server5
bin=${DEMO_BIN:-$PWD/bin} # DEMO_BIN: a directory with msguard and msguard-sim (tests)
say() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }
# exited GOT WANT WHAT: show a step's exit code; an unexpected one ends the
# demo with an error (a demo must not hide a failure).
failed=0
exited() {
  echo "exit code: $1${4:+ ($4)}" >&2
  if [ "$1" != "$2" ]; then echo "demo: $3 exited $1, expected $2" >&2; failed=1; fi
}

if [ -d "$root" ]; then "$bin/msguard-sim" destroy --root "$root" >/dev/null 2>&1 || true; fi
rm -rf "$demo" && mkdir -p "$demo/reports" "$demo/state"
trap '[ "${DEMO_KEEP:-}" = 1 ] || "$bin/msguard-sim" destroy --root "$root" >/dev/null 2>&1 || true' EXIT

say "A simulated iPlanet Messaging Server 5.1 host (DS 4.13, Web Server 6.0 SP1, DA 1.1, 1000 queued messages, store on a loop-mounted ext4)"
store_opt=
[ "$(id -u)" = 0 ] || store_opt=--store-mount=false
"$bin/msguard-sim" create --scenario testdata/scenarios/reference.yaml --root "$root" $store_opt --start 2>"$demo/sim.log"
"$bin/msguard-sim" media --dir "$demo/media"
# The scenario's demo passwords, in files only their owner can read.
umask 077
printf '%s' demo-DM-pass-8812 > "$demo/dm.pw"
printf '%s' demo-admin-pass-3301 > "$demo/admin.pw"
printf '%s' demo-probe-pass-2207 > "$demo/probe.pw" # the mail-flow probe's account, user0200
umask 022
echo "server root: $root" >&2
ps -eo pid,args | grep "$root" | grep -v grep | sed 's/^/  /' >&2

common=(--server-root "$root" --bind-password-file "$demo/dm.pw" --state-dir "$demo/state")
# The mail-flow probe (postflight and audit): a message submitted over SMTP,
# delivered, read over IMAP and POP3, deleted; one report line per leg.
probe=(--probe-user user0200 --probe-password-file "$demo/probe.pw")

say "msguard version"
"$bin/msguard" version

say "msguard collect: the host-facts snapshot"
"$bin/msguard" collect "${common[@]}" -o "$demo/reports/before.json"
echo "snapshot: $demo/reports/before.json ($(wc -c < "$demo/reports/before.json") bytes)" >&2

say "msguard check --phase preflight (before the window)"
set +e
"$bin/msguard" check --phase preflight "${common[@]}" \
  --report json="$demo/reports/preflight.json" --report junit="$demo/reports/preflight.xml" \
  --report sarif="$demo/reports/preflight.sarif" --report html="$demo/reports/preflight.html" \
  --report markdown="$demo/reports/preflight.md"
exited $? 0 "msguard check --phase preflight"
set -e

say "msguard rehearse (the day before: the whole upgrade on a copy-on-write twin, production untouched)"
set +e
"$bin/msguard" rehearse "${common[@]}" --media "$demo/media" --admin-password-file "$demo/admin.pw" \
  --queue-watch 30s --report json="$demo/reports/rehearsal.json" --report html="$demo/reports/rehearsal.html" \
  2>"$demo/rehearsal.log"
exited $? 0 "msguard rehearse"
set -e

say "msguard remediate (the upgrade, journaled, with a verified backup)"
set +e
"$bin/msguard" remediate "${common[@]}" --media "$demo/media" --backup-dir "$demo/backup" \
  --admin-password-file "$demo/admin.pw" --yes
exited $? 0 "msguard remediate"
set -e
say "msguard check --phase postflight (after the upgrade; the mail-flow probe sends a message and reads it back)"
set +e
"$bin/msguard" check --phase postflight "${common[@]}" "${probe[@]}" --report html="$demo/reports/postflight.html" \
  --report json="$demo/reports/postflight.json"
exited $? 0 "msguard check --phase postflight"
set -e
say "msguard audit (nightly health against the baseline, mail flow probed)"
set +e
"$bin/msguard" audit "${common[@]}" "${probe[@]}" --baseline "$demo/reports/before.json" --history "$demo/history"
exited $? 3 "msguard audit right after the upgrade" "the audit found what the upgrade left to do"
set -e
say "The operator re-applies the customisations setup -k dropped (the msg.conf key with configutil, the site lines of imta/config and html by putting the saved files back), restarts, and audits again"
"$root/msg-budgie/configutil" -o service.imap.idletimeout -v 7200
saved=$(ls -d "$root"/msg-budgie/backup.[0-9]* | tail -n 1)
for f in imta/config/mappings imta/config/aliases imta/config/imta.cnf html/login.html; do
  cp -p "$saved/$f" "$root/msg-budgie/$f"
done
"$root/msg-budgie/stop-msg" >&2
"$root/msg-budgie/start-msg" >&2
set +e
"$bin/msguard" audit "${common[@]}" "${probe[@]}" --baseline "$demo/reports/before.json" --history "$demo/history" \
  --metrics-file "$demo/reports/msguard.prom" --report html="$demo/reports/audit.html"
exited $? 0 "msguard audit after configutil"
set -e
say "msguard audit history"
"$bin/msguard" audit history --history "$demo/history"

say "Reports written"
ls -l "$demo/reports" >&2
[ "$failed" = 0 ] || { echo "demo: a step did not end as expected (see above)" >&2; exit 1; }
# The last lines a new user reads: where the reports are, and which to open first.
cat >&2 <<EOF

The reports are in $demo/reports
Open first: $demo/reports/preflight.html
  (the check before the window: what stood in the way of the upgrade, what passed, with each key's title)
then, in the order of the upgrade: rehearsal.html, postflight.html, audit.html (the health audit's trend).
EOF
