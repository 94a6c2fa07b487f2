package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// windowRow runs the window comparison n times.
func windowRow(c config, self string, n int) (row, error) {
	r := row{name: fmt.Sprintf("window (downtime, %d runs)", n), cache: "warm", goal: 0.8,
		peer:   "bench/window/runbook.sh, then msguard check --phase postflight",
		ourCmd: "msguard remediate --yes (first stop to its postflight gate)"}
	script, err := filepath.Abs(filepath.Join("bench", "window", "runbook.sh"))
	if err != nil {
		return r, err
	}
	media := filepath.Join(c.work, "media")
	if out, err := exec.Command(filepath.Join(c.bin, "msguard-sim"), "media", "--dir", media).CombinedOutput(); err != nil {
		return r, fmt.Errorf("msguard-sim media: %v: %s", err, out)
	}
	for i := 0; i < n; i++ {
		order := []bool{true, false} // msguard first
		if i%2 == 1 {
			order = []bool{false, true}
		}
		for _, ours := range order {
			root := filepath.Join(c.work, fmt.Sprintf("window-%d-%s", i, map[bool]string{true: "msguard", false: "peer"}[ours]), "server5")
			if err := createHost(c, root); err != nil {
				return r, err
			}
			var m measurement
			if ours {
				m, err = remediateDowntime(c, root, media)
			} else {
				m, err = runbookDowntime(c, script, root, media)
			}
			_ = exec.Command(filepath.Join(c.bin, "msguard-sim"), "destroy", "--root", root).Run()
			_ = os.RemoveAll(filepath.Dir(root))
			if err != nil {
				return r, err
			}
			if ours {
				r.ours = append(r.ours, m)
			} else {
				r.them = append(r.them, m)
			}
		}
	}
	return r, nil
}

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
// post.maillog, its postflight gate. CPU and RSS are the whole run's.
func remediateDowntime(c config, root, media string) (measurement, error) {
	adminPW, err := adminPasswordFile(root)
	if err != nil {
		return measurement{}, err
	}
	dir := filepath.Dir(root)
	backup, state := filepath.Join(dir, "backup"), filepath.Join(dir, "state")
	m, err := timeCmd([]string{filepath.Join(c.bin, "msguard"), "remediate", "--server-root", root, "--media", media,
		"--bind-password-file", filepath.Join(c.work, "dm.pw"), "--admin-password-file", adminPW,
		"--backup-dir", backup, "--state-dir", state, "--queue-watch", "1s", "--yes", "--no-progress", "-q"}, nil)
	if err != nil {
		return m, err
	}
	recs, err := remediate.ReadJournal(filepath.Join(backup, runstate.JournalFile))
	if err != nil {
		return m, err
	}
	var start, end time.Time
	for _, rec := range recs {
		if start.IsZero() && rec.Kind == remediate.KindIntent && (strings.HasPrefix(rec.Step, "stop.") || strings.HasPrefix(rec.Step, "ha.")) {
			start = rec.Time
		}
		if rec.Kind == remediate.KindDone && rec.Step == "post.maillog" {
			end = rec.Time
		}
	}
	if start.IsZero() || end.IsZero() {
		return m, errors.New("remediate's journal has no first stop or no postflight gate")
	}
	m.wall = end.Sub(start)
	return m, nil
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
		"--bind-password-file", filepath.Join(c.work, "dm.pw"), "--state-dir", filepath.Join(dir, "state"), "-q", "-o", os.DevNull)
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
