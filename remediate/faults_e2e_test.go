package remediate_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/sim"
)

// TestRemediateInstallerFails makes setup -k fail after it moved the
// configuration away (msg.setup) and after it replaced the binaries
// (ds.setup): the backout restores the server root exactly (the backup's
// manifest finds no difference), back on 5.1 with DS 4.13, nothing lost,
// and remediate exits 5.
func TestRemediateInstallerFails(t *testing.T) {
	t.Parallel()
	tests := []struct {
		after, step string
	}{
		{after: "backup", step: "msg.setup"},
		{after: "binaries", step: "ds.setup"},
	}
	for _, tt := range tests {
		t.Run(tt.after, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, func(sc *sim.Scenario) { sc.Fail.SetupAfter = tt.after; sc.WebServer, sc.DA = "6.0SP1", "1.1" })
			before := h.content()
			r := h.remediate()
			expect(t, r, exitBackedOut)
			if !strings.Contains(r.out, tt.step+" failed") || !strings.Contains(r.out, "simulated failure") {
				t.Errorf("the output does not say that %s failed and why:\n%s", tt.step, r.out)
			}
			h.restored("4.13")
			sameContent(t, "after the backout", before, h.content())
			if s := h.runState(); s != "backed_out" {
				t.Errorf("run state %q; want backed_out", s)
			}
			recs := h.journal()
			sum := remediate.Summarize(recs)
			if !slices.Equal(sum.Failed, []string{tt.step}) {
				t.Errorf("failed steps %v; want [%s]", sum.Failed, tt.step)
			}
			wantBackout := []string{"backout.stop", "backout.store_off", "backout.restore", "backout.store_on", "backout.start"}
			var got []string
			for _, s := range sum.Done {
				if strings.HasPrefix(s, "backout.") {
					got = append(got, s)
				}
			}
			if !slices.Equal(got, wantBackout) {
				t.Errorf("backout steps done %v; want %v", got, wantBackout)
			}
			// The services run again: the preflight check passes, so the
			// upgrade can be tried again once the cause is fixed.
			expect(t, h.check("preflight"), exitOK)
		})
	}
}

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts
// it when the test ends.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "small")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d,mode=0700", size), "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v\n%s", dir, err, out)
		}
	})
	return dir
}

func freeBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bavail) * int64(st.Bsize) // Bsize is int32 on 386
}

// TestRemediateBackupDiskFull puts the backups on a small tmpfs.
//
// Too small from the start: preflight's estimate (server root without the
// store, the queue again, the exports) denies preflight.disk.backup_space
// and remediate exits 3 with nothing changed.
//
// Full during the run: the run is killed (failpoints build) just before
// backup.server_root, the tmpfs is filled up to the last 64 KiB (room for
// the journal, not for the copy), and the resumed run fails in the
// backup: nothing destructive has run, so the undo path starts the stopped
// services again and remediate exits 5. The server root is then equal to
// what it was before the run, except the runtime files that a stop and a
// start rewrite (runtimePath: pid files, daemon logs, LMDB reader
// locks); the store, queue and directory are untouched.
func TestRemediateBackupDiskFull(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	tree := treeState(t, h.Root, runtimePath)
	before := h.content()

	t.Run("preflight", func(t *testing.T) {
		small := mountTmpfs(t, 4<<20)
		h.backup = filepath.Join(small, "backup")
		r := h.remediate()
		expect(t, r, exitNotReady)
		if !strings.Contains(r.out, "preflight.disk.backup_space") {
			t.Errorf("no preflight.disk.backup_space finding:\n%s", r.out)
		}
		if _, err := os.Stat(h.backup); !os.IsNotExist(err) {
			t.Errorf("a backup directory was created (%v)", err)
		}
		if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
			t.Errorf("the host changed: %s", strings.Join(d, "; "))
		}
	})

	t.Run("during-the-run", func(t *testing.T) {
		small := mountTmpfs(t, 192<<20)
		h.backup = filepath.Join(small, "backup")
		h.stateDir = filepath.Join(t.TempDir(), "state")
		r := h.msguard(failpointBinary(t), []string{"MSGUARD_FAILPOINT=step.before:backup.server_root"}, h.remediateArgs()...)
		if !r.killed {
			t.Fatalf("not killed at step.before:backup.server_root: %s", r)
		}
		fill := filepath.Join(small, "fill")
		f, err := os.Create(fill)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		chunk := make([]byte, 1<<20)
		for freeBytes(t, small) > 64<<10+int64(len(chunk)) {
			if _, err := f.Write(chunk); err != nil {
				t.Fatal(err)
			}
		}
		f.Close()
		r = h.remediate("--resume")
		expect(t, r, exitBackedOut)
		if !strings.Contains(r.out, "is full") {
			t.Errorf("the output does not say that the backup destination is full:\n%s", r.out)
		}
		sum := remediate.Summarize(h.journal())
		for _, s := range sum.Done {
			if strings.HasPrefix(s, "ds.") || strings.HasPrefix(s, "msg.") || strings.HasPrefix(s, "backout.") {
				t.Errorf("step %s ran: the run must stop before anything destructive", s)
			}
		}
		if len(sum.Undone) == 0 {
			t.Errorf("no step was undone; journal summary %+v", sum)
		}
		if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
			t.Errorf("the host changed: %s", strings.Join(d, "; "))
		}
		sameContent(t, "after the undo", before, h.content())
		expect(t, h.check("preflight"), exitOK) // every service runs again
		if s := h.runState(); s != "backed_out" {
			t.Errorf("run state %q; want backed_out", s)
		}
	})
}

// corruptOneFile flips a byte of a file of the server-root backup and
// returns a function that flips it back.
func corruptOneFile(t *testing.T, backup, rel string) func() {
	t.Helper()
	p := filepath.Join(backup, "server-root", "server-root", rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x20
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return func() {
		b[len(b)/2] ^= 0x20
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// pidOf reads a pid file and checks that the process runs.
func pidOf(t *testing.T, file string) int {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("pid %d of %s does not run: %v", pid, file, err)
	}
	return pid
}

// TestRemediateCorruptBackup flips a byte of the verified server-root
// backup between backup.copy and a failure (the run is killed after
// backup.copy, the byte flipped, the run resumed, and ds.setup fails).
// The backout refuses the corrupt backup before it stops or changes
// anything: exit 6, the file named. msguard backout refuses it too
// (non-zero exit, host untouched); with the byte flipped back, msguard
// backout restores the host.
func TestRemediateCorruptBackup(t *testing.T) {
	t.Parallel()
	h := newHost(t, func(sc *sim.Scenario) { sc.Fail.SetupAfter = "binaries" })
	before := h.content()
	r := h.msguard(failpointBinary(t), []string{"MSGUARD_FAILPOINT=step.after:backup.copy"}, h.remediateArgs()...)
	if !r.killed {
		t.Fatalf("not killed at step.after:backup.copy: %s", r)
	}
	// backup.copy found the server-root backup as its step sealed it: a
	// stat of every entry, no second read.
	if !strings.Contains(r.out, "backup.copy: backup proven") || !strings.Contains(r.out, "unchanged since its re-read") {
		t.Errorf("backup.copy did not say it proved the sealed backup unchanged:\n%s", r.out)
	}
	// Each step done says how long it took.
	if !regexp.MustCompile(`(?m)^\s+backup\.server_root\s+done in \d[0-9.]*m?s$`).MatchString(r.out) {
		t.Errorf("no duration for backup.server_root in the output:\n%s", r.out)
	}
	const victim = "setup/install.inf"
	fix := corruptOneFile(t, h.backup, victim)
	slapdPid := filepath.Join(h.Paths.Slapd(h.State.Scenario.DSInstances[0]), "logs", "pid")
	pid := pidOf(t, slapdPid)

	r = h.remediate("--resume")
	expect(t, r, exitBackoutFailed)
	if !strings.Contains(r.out, victim) || !strings.Contains(r.out, "backout did not start") {
		t.Errorf("the output does not name the corrupt file %s or say the backout did not start:\n%s", victim, r.out)
	}
	if got := pidOf(t, slapdPid); got != pid {
		t.Errorf("the Directory Server was restarted (pid %d, was %d): the backout must not touch the host", got, pid)
	}
	sum := remediate.Summarize(h.journal())
	for _, s := range append(sum.Done, sum.InDoubt...) {
		if strings.HasPrefix(s, "backout.") {
			t.Errorf("backout step %s started with a corrupt backup", s)
		}
	}
	if s := h.runState(); s != "failed" {
		t.Errorf("run state %q; want failed", s)
	}

	tree := treeState(t, h.Root, runtimePath)
	b := h.backoutRun()
	if b.code == 0 || !strings.Contains(b.out, victim) {
		t.Errorf("msguard backout with a corrupt backup: want a non-zero exit naming %s; got %s", victim, b)
	}
	if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
		t.Errorf("msguard backout changed the host: %s", strings.Join(d, "; "))
	}

	fix()
	expect(t, h.backoutRun(), exitOK)
	h.restored("4.13")
	sameContent(t, "after msguard backout", before, h.content())
}

// TestRemediateBackupChangedBeforeCopy flips a byte of the server-root
// backup after backup.server_root re-read and sealed it, and sets its
// mtime back (the run is killed before backup.copy, the byte flipped, the
// run resumed): backup.copy sees the file's stat differ from the seal,
// re-reads the backup, names the file and fails; nothing destructive has
// run, so the stops and saves are undone (exit 5), the host as before.
func TestRemediateBackupChangedBeforeCopy(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	before := h.content()
	r := h.msguard(failpointBinary(t), []string{"MSGUARD_FAILPOINT=step.before:backup.copy"}, h.remediateArgs()...)
	if !r.killed {
		t.Fatalf("not killed at step.before:backup.copy: %s", r)
	}
	const victim = "setup/install.inf"
	p := filepath.Join(h.backup, "server-root", "server-root", victim)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	corruptOneFile(t, h.backup, victim)
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	r = h.remediate("--resume")
	expect(t, r, exitBackedOut)
	if !strings.Contains(r.out, "backup.copy failed") || !strings.Contains(r.out, "sha256 of "+victim) {
		t.Errorf("the output does not say that backup.copy failed on %s:\n%s", victim, r.out)
	}
	sum := remediate.Summarize(h.journal())
	if !slices.Equal(sum.Failed, []string{"backup.copy"}) {
		t.Errorf("failed steps %v; want [backup.copy]", sum.Failed)
	}
	for _, s := range sum.Done {
		if s == "ds.setup" || strings.HasPrefix(s, "backout.") {
			t.Errorf("step %s ran after backup.copy failed", s)
		}
	}
	if msg, ds := h.versions(); msg != "5.1" || ds != "4.13" {
		t.Errorf("after the undo: Messaging %s, Directory %s; want 5.1, 4.13", msg, ds)
	}
	sameContent(t, "after the undo", before, h.content())
}

// TestRemediateDirectoryDown stops the Directory Server right before
// msg.setup (the run is killed there, slapd stopped, the run resumed):
// the step stops with a clear reason before the installer runs, the
// backout restores the host (DS 4.13, running again) and remediate exits 5.
func TestRemediateDirectoryDown(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	before := h.content()
	r := h.msguard(failpointBinary(t), []string{"MSGUARD_FAILPOINT=step.before:msg.setup"}, h.remediateArgs()...)
	if !r.killed {
		t.Fatalf("not killed at step.before:msg.setup: %s", r)
	}
	h.Run(t, "slapd-"+h.State.Scenario.DSInstances[0]+"/stop-slapd")
	r = h.remediate("--resume")
	expect(t, r, exitBackedOut)
	if !strings.Contains(r.out, "msg.setup failed") || !strings.Contains(r.out, "Directory Server") || !strings.Contains(r.out, "installer was not started") {
		t.Errorf("the output does not say that msg.setup stopped because the directory is down:\n%s", r.out)
	}
	if _, err := os.Stat(filepath.Join(h.backup, "transcripts", "msg.setup.log")); !os.IsNotExist(err) {
		t.Errorf("the installer ran (transcript: %v)", err)
	}
	h.restored("4.13")
	sameContent(t, "after the backout", before, h.content())
	expect(t, h.check("preflight"), exitOK)
}

// TestRemediateSilentFaults plants the faults of real hosts that exit 0
// having done nothing (or not enough): each is caught by the step it hits,
// which names what is missing, and the run ends backed out (exit 5) with
// nothing lost, never "upgraded".
func TestRemediateSilentFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*sim.Scenario)
		step string // the step that must fail
		says string // in its error
	}{
		{"setup exits 0 doing nothing", func(sc *sim.Scenario) { sc.Fail.Silent = []string{sim.SilentSetup} },
			"ds.setup", "setup -k exited 0 but ns-slapd -v still says Directory Server 4.13"},
		{"ims_dssetup exits 0 doing nothing", func(sc *sim.Scenario) { sc.Fail.Silent = []string{sim.SilentIMSDSSetup} },
			"ds.dssetup", "lacks the inetMailUser object class"},
		{"db2ldif writes no file", func(sc *sim.Scenario) { sc.Fail.Silent = []string{sim.SilentDB2LDIF} },
			"backup.ldif", "db2ldif exited 0 but wrote no file"},
		{"db2ldif writes an empty LDIF", func(sc *sim.Scenario) { sc.Fail.EmptyLDIF = true },
			"backup.ldif", "db2ldif exited 0 but wrote no entries (server has"},
		{"Web Server setup exits 0 doing nothing", func(sc *sim.Scenario) {
			sc.WebServer = "6.0SP1"
			sc.Fail.Silent = []string{sim.SilentWSSetup}
		}, "post.webserver", "the Web Server reads 6.0SP1, want 6.0SP2"},
		{"DA setup exits 0 doing nothing", func(sc *sim.Scenario) {
			sc.WebServer, sc.DA = "6.0SP2", "1.1"
			sc.Fail.Silent = []string{sim.SilentDASetup}
		}, "post.da", "Delegated Administrator reads"},
		{"imapd dies a second after the start", func(sc *sim.Scenario) { sc.Fail.DiesAfterStart = "imapd" },
			"post.start", "imapd"},
		{"the cluster refuses offline", func(sc *sim.Scenario) { sc.HA = "vcs"; sc.Fail.HARefuseOffline = true },
			"ha.vcs.offline", "hagrp -state iMS5 reports ONLINE, want OFFLINE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, tt.edit)
			before := h.content()
			r := h.remediate("--stop-timeout", "10s")
			expect(t, r, exitBackedOut)
			failed := stepsOf(h.journal(), remediate.KindFailed)
			if !slices.Equal(failed, []string{tt.step}) {
				t.Errorf("failed steps %v; want [%s]", failed, tt.step)
			}
			if !strings.Contains(r.out, "FAILED "+tt.step+": ") || !strings.Contains(r.out, tt.says) {
				t.Errorf("the output does not say that %s's effect is missing (%q):\n%s", tt.step, tt.says, r.out)
			}
			h.restored(h.State.Scenario.DSVersion)
			sameContent(t, "after the backout", before, h.content())
		})
	}
}
