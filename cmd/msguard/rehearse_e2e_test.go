package main

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/rehearse"
	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
)

// rehearsalHost is a started simulated host with its media and the
// passwords rehearse and remediate need.
type rehearsalHost struct {
	h                    *simtest.Host
	media, adminPW, dmPW string
}

func newRehearsalHost(t *testing.T, edit func(*sim.Scenario)) rehearsalHost {
	t.Helper()
	ref, err := sim.LoadScenario(filepath.Join("..", "..", "testdata", "scenarios", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := simtest.New(t, func(sc *sim.Scenario) {
		root := sc.Root
		*sc = ref
		sc.Root, sc.Users, sc.Queue.Messages, sc.Queue.Held = root, 40, 100, 5
		sc.Secrets.ProbeUID = "" // the default: the last of the users
		if edit != nil {
			edit(sc)
		}
	})
	h.Start(t)
	mediaDir := filepath.Join(t.TempDir(), "media")
	if err := media.WriteMedia(mediaDir, simtest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	adminPW := filepath.Join(t.TempDir(), "admin.pw")
	if err := os.WriteFile(adminPW, []byte(h.State.Scenario.Secrets.ConfigAdmin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return rehearsalHost{h: h, media: mediaDir, adminPW: adminPW, dmPW: h.DMPasswordFile(t)}
}

// rehearseBinary runs the shipped msguard binary's rehearse (the twin
// re-executes the binary, so it cannot run in-process).
func (r rehearsalHost) rehearseBinary(t *testing.T, scratch string, extra ...string) (int, string, *judgement.Rehearsal) {
	t.Helper()
	reportFile := filepath.Join(t.TempDir(), "rehearsal.json")
	args := append([]string{"rehearse", "--server-root", r.h.Root, "--bind-password-file", r.dmPW,
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--media", r.media, "--admin-password-file", r.adminPW,
		"--scratch", scratch, "--keep", "--queue-watch", "10s", "--no-progress", "--report", "json=" + reportFile}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, simtest.MsguardBinary(t), args...)
	// The cluster CLIs, where the host has them, as remediate's tests find them.
	cmd.Env = append(os.Environ(), "PATH="+r.h.Paths.ClusterBin()+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("rehearse: %v\n%s", err, out)
	}
	var rh *judgement.Rehearsal
	if f, err := os.Open(reportFile); err == nil {
		rep, err := judgement.DecodeReport(f)
		f.Close()
		if err != nil {
			t.Fatalf("rehearsal report: %v", err)
		}
		if rh = rep.Rehearsal; rh == nil || rep.ExitCode != code {
			t.Fatalf("rehearsal report: rehearsal %v, exit code %d (the command exited %d)", rh, rep.ExitCode, code)
		}
	}
	return code, string(out), rh
}

// stepOutcome is how the rehearsal ended step id ("" when it did not run).
func stepOutcome(rh *judgement.Rehearsal, id string) string {
	for _, s := range rh.Steps {
		if s.ID == id {
			return s.Outcome
		}
	}
	return ""
}

// productionState is what must not change: the daemons' pids, the
// messaging version, and no twin mount left.
func productionState(t *testing.T, r rehearsalHost) (pids []int32, version string, ports map[string]int) {
	t.Helper()
	root, dmPW := r.h.Root, r.dmPW
	s, err := collectors.Collect(context.Background(), collectors.Options{ServerRoot: root, Path: r.h.Paths.ClusterBin(),
		BindPassword: func() (string, error) { b, err := os.ReadFile(dmPW); return string(b), err }}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range s.Processes.Daemons {
		pids = append(pids, d.PID)
	}
	slices.Sort(pids)
	return pids, s.Versions.Messaging.Version, s.Configs.Ports
}

// probe dials every port until stop is closed and counts the failures.
func probe(ports map[string]int, stop <-chan struct{}) (fails *[]string, done func()) {
	return probeHost("", ports, stop)
}

// probeHost is probe with the directory's port ("ldap") dialed on
// dirHost, the others on the loopback.
func probeHost(dirHost string, ports map[string]int, stop <-chan struct{}) (fails *[]string, done func()) {
	var mu sync.Mutex
	var out []string
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			for name, p := range ports {
				host := "127.0.0.1"
				if name == "ldap" && dirHost != "" {
					host = dirHost
				}
				c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(p)), time.Second)
				if err != nil {
					mu.Lock()
					out = append(out, fmt.Sprintf("%s (%d): %v", name, p, err))
					mu.Unlock()
					continue
				}
				c.Close()
			}
		}
	}()
	return &out, wg.Wait
}

// treeContent maps every entry below root to its mode and, for a file,
// the SHA-256 of its bytes (for a link, its target); the directory
// server's lock files, which production's slapd rewrites as it serves,
// count by their mode only, and so do the logs production's simulated
// daemons write as they serve.
func treeContent(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		v := fi.Mode().String()
		rel, _ := filepath.Rel(root, p)
		parts := strings.Split(rel, string(filepath.Separator))
		switch {
		case len(parts) == 4 && strings.HasPrefix(parts[0], "slapd-") && parts[1] == "db" && parts[3] == "lock.mdb":
			// LMDB's reader table, written through a shared mapping by
			// production's own slapd as it serves: its bytes churn.
		case len(parts) == 3 && parts[0] == ".msguard-sim" && parts[1] == "run" && strings.HasSuffix(parts[2], ".log"):
			// The simulated daemons' own logs: production's servers log
			// the connections they serve (a check's port probes among them).
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(b))
		case fi.Mode()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(p)
			v += " -> " + l
		}
		out[p] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func twinMountsLeft(t *testing.T, scratch string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, " overlay ") || strings.Contains(l, scratch) {
			left = append(left, l)
		}
	}
	return left
}

// TestRehearse rehearses the reference upgrade while production serves:
// the twin runs every step to a healthy postflight, production's files,
// daemons and ports are untouched throughout, nothing of the twin is
// left; then the real remediate runs the same steps to the same verdict.
func TestRehearse(t *testing.T) {
	r := newRehearsalHost(t, nil)
	pids, version, ports := productionState(t, r)
	if len(pids) == 0 || len(ports) == 0 {
		t.Fatalf("production runs nothing: pids %v ports %v", pids, ports)
	}
	contentBefore := treeContent(t, r.h.Root)
	scratch := filepath.Join(t.TempDir(), "scratch")
	stop := make(chan struct{})
	fails, wait := probe(ports, stop)
	code, out, rh := r.rehearseBinary(t, scratch)
	close(stop)
	wait()
	if code != exitcode.OK {
		t.Fatalf("rehearse: exit %d\n%s", code, out)
	}
	for _, want := range []string{"the upgrade went through", "production untouched", "gate postflight: healthy", "window: mail service down for"} {
		if !strings.Contains(out, want) {
			t.Errorf("rehearse output lacks %q:\n%s", want, out)
		}
	}
	if len(*fails) > 0 {
		t.Errorf("production's ports failed during the rehearsal: %v", *fails)
	}
	// Byte for byte, independently of rehearse's own fingerprint.
	if after := treeContent(t, r.h.Root); !maps.Equal(contentBefore, after) {
		for p, sum := range after {
			if contentBefore[p] != sum {
				t.Errorf("production's %s changed during the rehearsal", p)
			}
		}
		for p := range contentBefore {
			if _, ok := after[p]; !ok {
				t.Errorf("production's %s is gone after the rehearsal", p)
			}
		}
	}
	pidsAfter, versionAfter, _ := productionState(t, r)
	if !slices.Equal(pids, pidsAfter) || version != versionAfter {
		t.Errorf("production changed: pids %v -> %v, version %s -> %s", pids, pidsAfter, version, versionAfter)
	}
	if left := twinMountsLeft(t, scratch); len(left) > 0 {
		t.Errorf("the twin's mounts are left: %v", left)
	}
	if !rh.Production.Untouched || rh.DowntimeMS <= 0 || len(rh.Steps) == 0 || rh.Gate != "postflight" {
		t.Fatalf("rehearsal result: %+v", rh)
	}

	r.realRunMatches(t, rh, exitcode.OK)
}

// realRunMatches runs the real remediate on the host after its rehearsal
// and checks that it exits as the rehearsal said and runs the same steps
// to the same outcomes.
func (r rehearsalHost) realRunMatches(t *testing.T, rh *judgement.Rehearsal, wantCode int, extra ...string) {
	t.Helper()
	t.Setenv("PATH", r.h.Paths.ClusterBin()+string(os.PathListSeparator)+os.Getenv("PATH"))
	state, backup := filepath.Join(t.TempDir(), "state"), filepath.Join(t.TempDir(), "backup")
	args := append([]string{"remediate", "--server-root", r.h.Root, "--bind-password-file", r.dmPW,
		"--state-dir", state, "--media", r.media, "--admin-password-file", r.adminPW, "--backup-dir", backup,
		"--queue-watch", "10s", "--yes", "--no-progress", "-q"}, extra...)
	code, stdout, stderr := msguardRun(t, args...)
	if code != wantCode || rh.RemediateExitCode != wantCode {
		t.Fatalf("remediate after the rehearsal: exit %d, the rehearsal said %d, want %d\n%s\n%s", code, rh.RemediateExitCode, wantCode, stdout, stderr)
	}
	recs, err := remediate.ReadJournal(filepath.Join(backup, runstate.JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	outcomes := func(steps []judgement.RehearsalStep) []string {
		var o []string
		for _, s := range steps {
			o = append(o, s.ID+"="+s.Outcome)
		}
		return o
	}
	if got, want := outcomes(rh.Steps), outcomes(rehearse.StepsFromJournal(recs)); !slices.Equal(got, want) {
		t.Errorf("rehearsal steps differ from the real run's:\nrehearsal %v\nreal      %v", got, want)
	}
}

// TestRehearsePlantedFault: planted installer faults fail the rehearsal
// at the step they fail in a real run (exit 5, as remediate would), with
// production untouched; the real remediate afterwards fails the same way.
func TestRehearsePlantedFault(t *testing.T) {
	tests := []struct {
		name, step string
		plant      func(*sim.Scenario)
	}{
		// A silent setup -k is first met upgrading the Directory Server.
		{"setup -k exits 0 doing nothing", "ds.setup", func(sc *sim.Scenario) { sc.Fail.Silent = []string{sim.SilentSetup} }},
		{"setup -k fails after moving the configuration", "msg.setup", func(sc *sim.Scenario) { sc.Fail.SetupAfter = "backup" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRehearsalHost(t, tt.plant)
			pids, version, _ := productionState(t, r)
			scratch := filepath.Join(t.TempDir(), "scratch")
			code, out, rh := r.rehearseBinary(t, scratch)
			if code != exitcode.BackedOut {
				t.Fatalf("rehearse: exit %d, want %d\n%s", code, exitcode.BackedOut, out)
			}
			if stepOutcome(rh, tt.step) != "failed" || !rh.Production.Untouched || !strings.Contains(out, "production untouched") {
				t.Errorf("rehearsal: %s %q, production %+v:\n%s", tt.step, stepOutcome(rh, tt.step), rh.Production, out)
			}
			pidsAfter, versionAfter, _ := productionState(t, r)
			if !slices.Equal(pids, pidsAfter) || version != versionAfter {
				t.Errorf("production changed: pids %v -> %v, version %s -> %s", pids, pidsAfter, version, versionAfter)
			}
			if left := twinMountsLeft(t, scratch); len(left) > 0 {
				t.Errorf("the twin's mounts are left: %v", left)
			}
			r.realRunMatches(t, rh, exitcode.BackedOut)
		})
	}
}

// TestRehearseCluster: a VCS node whose cluster CLIs and state live below
// the server root is rehearsed whole (the cluster's switch-off and give
// back included) while production's cluster keeps its service online.
func TestRehearseCluster(t *testing.T) {
	r := newRehearsalHost(t, func(sc *sim.Scenario) { sc.HA = "vcs" })
	pids, version, _ := productionState(t, r)
	scratch := filepath.Join(t.TempDir(), "scratch")
	code, out, rh := r.rehearseBinary(t, scratch)
	if code != exitcode.OK {
		t.Fatalf("rehearse: exit %d\n%s", code, out)
	}
	for _, id := range []string{"ha.vcs.offline", "ha.vcs.relink", "post.start"} {
		if got := stepOutcome(rh, id); got != "done" {
			t.Errorf("rehearsal step %s: %q, want done\n%s", id, got, out)
		}
	}
	if !rh.Production.Untouched {
		t.Errorf("production: %+v", rh.Production)
	}
	pidsAfter, versionAfter, _ := productionState(t, r)
	if !slices.Equal(pids, pidsAfter) || version != versionAfter {
		t.Errorf("production changed: pids %v -> %v, version %s -> %s", pids, pidsAfter, version, versionAfter)
	}
	if state := r.h.Run(t, filepath.Join(".msguard-sim", "cluster-bin", "hagrp"), "-state", "iMS5"); !strings.Contains(state, "ONLINE") {
		t.Errorf("production's service group after the rehearsal: %s", state)
	}
	r.realRunMatches(t, rh, exitcode.OK)
}

// TestRehearseKilled: a rehearsal killed in the middle of its plan leaves
// no twin process and no mount behind, and production untouched.
func TestRehearseKilled(t *testing.T) {
	r := newRehearsalHost(t, nil)
	pids, version, _ := productionState(t, r)
	// Every process of production's, with its helpers (slapd's child).
	rootProcs := func() map[int]string {
		out := map[int]string{}
		ps, _ := exec.Command("ps", "-eo", "pid=,args=").Output()
		for _, l := range strings.Split(string(ps), "\n") {
			f := strings.Fields(l)
			if len(f) > 1 && (strings.Contains(l, r.h.Root) || strings.Contains(l, "rehearse-twin")) {
				pid, _ := strconv.Atoi(f[0])
				out[pid] = l
			}
		}
		return out
	}
	before := rootProcs()
	scratch := filepath.Join(t.TempDir(), "scratch")
	args := []string{"rehearse", "--server-root", r.h.Root, "--bind-password-file", r.dmPW,
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--media", r.media, "--admin-password-file", r.adminPW,
		"--scratch", scratch, "--keep", "--no-progress"}
	cmd := exec.Command(simtest.MsguardBinary(t), args...)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// Killed once the twin is backing the host up (its servers stopped).
	buf := make([]byte, 64<<10)
	var seen strings.Builder
	deadline := time.Now().Add(2 * time.Minute)
	for !strings.Contains(seen.String(), "backup.server_root") && time.Now().Before(deadline) {
		n, err := pr.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	// The output stays open and read: the twin must die of its parent's
	// death, not of a broken pipe.
	go func() {
		for {
			if _, err := pr.Read(buf); err != nil {
				return
			}
		}
	}()
	defer pr.Close()
	if !strings.Contains(seen.String(), "backup.server_root") {
		t.Fatalf("the rehearsal never reached backup.server_root:\n%s", seen.String())
	}
	// The twin's processes die with its first process (the kernel kills a
	// PID namespace whose init dies), its mounts with its namespace.
	// Within a second: the twin's plan would otherwise end by itself soon
	// after and hide a twin that outlived its parent.
	var twin []string
	for i := 0; i < 20; i++ {
		twin = twin[:0]
		for pid, l := range rootProcs() {
			if _, ok := before[pid]; !ok {
				twin = append(twin, l)
			}
		}
		if len(twin) == 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(twin) > 0 {
		t.Errorf("twin processes left after the kill: %v", twin)
	}
	if left := twinMountsLeft(t, scratch); len(left) > 0 {
		t.Errorf("the twin's mounts are left: %v", left)
	}
	pidsAfter, versionAfter, _ := productionState(t, r)
	if !slices.Equal(pids, pidsAfter) || version != versionAfter {
		t.Errorf("production changed: pids %v -> %v, version %s -> %s", pids, pidsAfter, version, versionAfter)
	}
}
