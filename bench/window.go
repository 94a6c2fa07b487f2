package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/sim"
)

// The window row: how long the mail service is down, from the first stop
// to a healthy postflight, when msguard remediate upgrades the host and
// when an administrator does the runbook by hand with the standard tools
// (bench/window/runbook.sh: cp -a + sha256sum, db2ldif and ldapsearch,
// the installers fed their answers). Each run upgrades two fresh hosts
// made from the same scenario, one each, in alternating order.

// windowRow runs the window comparison n times. Its second row is the
// journal's overhead in msguard's runs: each whole run against the same
// run less the time it spent writing and fsyncing its journal.
func windowRow(c config, n int) (row, row, error) {
	journal := row{name: fmt.Sprintf("journal overhead (%d runs)", n), cache: "warm", goal: 1.05,
		peer:   "the same remediate run less its journal writes and fsyncs (run-end journal_ms)",
		ourCmd: "msguard remediate --yes (whole run)"}
	r := row{name: fmt.Sprintf("window (downtime, %d runs)", n), cache: "warm", goal: 0.8,
		peer:   "bench/window/runbook.sh, then msguard check --phase postflight",
		ourCmd: "msguard remediate --yes (first stop to its postflight gate)"}
	script, err := filepath.Abs(filepath.Join("bench", "window", "runbook.sh"))
	if err != nil {
		return r, journal, err
	}
	media := filepath.Join(c.work, "media")
	if out, err := exec.Command(filepath.Join(c.bin, "msguard-sim"), "media", "--dir", media).CombinedOutput(); err != nil {
		return r, journal, fmt.Errorf("msguard-sim media: %v: %s", err, out)
	}
	for i := 0; i < n; i++ {
		order := []bool{true, false} // msguard first
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, ours := range order {
			root := filepath.Join(c.work, fmt.Sprintf("window-%d-%s", i, map[bool]string{true: "msguard", false: "peer"}[ours]), "server5")
			if err := createHost(c, root); err != nil {
				return r, journal, err
			}
			var m measurement
			if ours {
				var run measurement
				var spent time.Duration
				m, run, spent, err = remediateDowntime(c, root, media)
				journal.ours = append(journal.ours, run)
				less := run
				less.wall -= spent
				journal.them = append(journal.them, less)
			} else {
				m, err = runbookDowntime(c, script, root, media)
			}
			_ = exec.Command(filepath.Join(c.bin, "msguard-sim"), "destroy", "--root", root).Run()
			_ = os.RemoveAll(filepath.Dir(root))
			if err != nil {
				return r, journal, err
			}
			if ours {
				r.ours = append(r.ours, m)
			} else {
				r.them = append(r.them, m)
			}
		}
	}
	r.note = selfRSSNote(r.ours, journal.ours)
	return r, journal, nil
}

// selfRSSNote tells msguard's own peak RSS apart from the row's: rusage
// gives the largest process of the run's tree (the installers and
// db2ldif's slapcat among them), the journal's run-end record msguard's.
func selfRSSNote(down, runs samples) string {
	var self int64
	for _, m := range runs {
		self = max(self, m.selfRSS)
	}
	return fmt.Sprintf("msguard remediate's own peak RSS %d MiB (run-end peak_rss_kib); %d MiB is the largest process of its run's tree",
		self/1024, down.maxRSS()/1024)
}

// collectTimeout is the collectors' time limit in the window's runs: at
// 10^6 directory entries, counting them over LDAP on a loaded 2-core
// machine takes more than the default minute (a collector that times out
// is an error finding, and the gate refuses the run).
const collectTimeout = "15m"

// createHost makes a fresh host from the bench's scenario at root, started.
func createHost(c config, root string) error {
	out, err := exec.Command(filepath.Join(c.bin, "msguard-sim"), "create", "--scenario", filepath.Join(c.work, "scenario.yaml"),
		"--root", root, "--start").CombinedOutput()
	if err != nil {
		return fmt.Errorf("msguard-sim create: %v: %s", err, out)
	}
	return nil
}

// adminPasswordFile writes the host's Configuration Directory
// Administrator password (the scenario's) to a file of its own.
func adminPasswordFile(root string) (string, error) {
	st, err := sim.LoadState(root)
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(root), "admin.pw")
	return p, os.WriteFile(p, []byte(st.Scenario.Secrets.ConfigAdmin), 0o600)
}

// remediateDowntime upgrades root with msguard remediate and reads the
// downtime from its journal: the first stop step's intent to the end of
// post.maillog, its postflight gate. CPU and RSS are the whole run's; run
// is the whole run, spent the time it spent on its journal.
func remediateDowntime(c config, root, media string) (down, run measurement, spent time.Duration, err error) {
	adminPW, err := adminPasswordFile(root)
	if err != nil {
		return
	}
	dir := filepath.Dir(root)
	backup, state := filepath.Join(dir, "backup"), filepath.Join(dir, "state")
	// What remediate prints (its gates' reports among it) goes to a file
	// outside the work directory, which is removed after the bench: a
	// failed run's is kept and named, a good run's removed.
	out, err := os.CreateTemp("", "msguard-bench-"+filepath.Base(dir)+"-*.remediate.out")
	if err != nil {
		return
	}
	outPath := out.Name()
	defer func() {
		out.Close()
		if err == nil {
			os.Remove(outPath)
		}
	}()
	run, err = timeCmdTo([]string{filepath.Join(c.bin, "msguard"), "remediate", "--server-root", root, "--media", media,
		"--bind-password-file", filepath.Join(c.work, "dm.pw"), "--admin-password-file", adminPW,
		"--backup-dir", backup, "--state-dir", state, "--queue-watch", "1s", "--timeout", collectTimeout, "--yes", "--no-progress", "-q"}, nil, out)
	if err != nil {
		b, _ := os.ReadFile(outPath)
		if why := refusal(string(b)); why != "" {
			err = fmt.Errorf("%w\n%s(remediate's whole output: %s)", err, why, outPath)
		} else {
			err = fmt.Errorf("%w (remediate's output: %s)", err, outPath)
		}
		return
	}
	recs, err := remediate.ReadJournal(filepath.Join(backup, runstate.JournalFile))
	if err != nil {
		return
	}
	var start, end time.Time
	for _, rec := range recs {
		if start.IsZero() && rec.Kind == remediate.KindIntent && (strings.HasPrefix(rec.Step, "stop.") || strings.HasPrefix(rec.Step, "ha.")) {
			start = rec.Time
		}
		if rec.Kind == remediate.KindDone && rec.Step == "post.maillog" {
			end = rec.Time
		}
		if rec.Kind == remediate.KindRunEnd {
			if ms, perr := strconv.ParseInt(rec.Detail["journal_ms"], 10, 64); perr == nil {
				spent = time.Duration(ms) * time.Millisecond
			}
			if kib, perr := strconv.ParseInt(rec.Detail["peak_rss_kib"], 10, 64); perr == nil {
				run.selfRSS = kib
			}
		}
	}
	if start.IsZero() || end.IsZero() {
		err = errors.New("remediate's journal has no first stop or no postflight gate")
		return
	}
	if run.selfRSS == 0 {
		err = errors.New("remediate's journal has no peak_rss_kib in its run-end record")
		return
	}
	down = run
	down.wall = end.Sub(start)
	down.selfRSS = run.selfRSS
	return down, run, spent, nil
}

// runbookDowntime runs the hand runbook on root, then the postflight
// check, and times both: the script's first act is the first stop.
func runbookDowntime(c config, script, root, media string) (measurement, error) {
	adminPW, err := adminPasswordFile(root)
	if err != nil {
		return measurement{}, err
	}
	port, err := ldapPort(root)
	if err != nil {
		return measurement{}, err
	}
	dir := filepath.Dir(root)
	start := time.Now()
	m, err := timeCmd([]string{script, root, media, filepath.Join(dir, "backup"), filepath.Join(c.work, "dm.pw"), adminPW,
		fmt.Sprintf("ldap://127.0.0.1:%d/o=siroe.com", port)}, nil)
	if err != nil {
		return m, err
	}
	check := exec.Command(filepath.Join(c.bin, "msguard"), "check", "--phase", "postflight", "--server-root", root,
		"--bind-password-file", filepath.Join(c.work, "dm.pw"), "--state-dir", filepath.Join(dir, "state"), "--timeout", collectTimeout, "-q", "-o", os.DevNull)
	out, err := check.CombinedOutput()
	if err != nil {
		return m, fmt.Errorf("postflight after the hand runbook: %v: %s", err, out)
	}
	m.wall = time.Since(start)
	if ru, ok := check.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		m.cpu += time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	}
	return m, nil
}

// refusal is what a gate that refused the run said, from remediate's
// output: each "gate PHASE: not_ready" line with the DENIED and ERRORS
// sections of the report printed after it (each finding's key, title and
// message); "" when no gate refused.
func refusal(out string) string {
	var b strings.Builder
	lines := strings.Split(out, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		switch {
		case strings.HasPrefix(strings.TrimSpace(l), "gate ") && strings.Contains(l, "not_ready"):
			b.WriteString(strings.TrimSpace(l) + "\n")
		case strings.HasPrefix(l, "DENIED (") || strings.HasPrefix(l, "ERRORS (could not judge) ("):
			for ; i < len(lines) && lines[i] != ""; i++ {
				b.WriteString(lines[i] + "\n")
			}
		}
	}
	return b.String()
}
