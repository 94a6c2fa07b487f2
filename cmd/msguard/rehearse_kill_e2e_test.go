package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
)

// rehearsalKillPoint is a point at which a rehearsal is killed, and how
// the test sees that the rehearsal is there: a pause point of the
// failpoints build (the twin writes paused-NAME in the scratch directory
// and waits there), a line of the twin's output, or a process of the
// twin's (stopped with SIGSTOP once seen, so the kill lands while it
// runs).
type rehearsalKillPoint struct {
	name    string
	pause   string // MSGUARD_REHEARSE_PAUSE
	output  string // a line of the twin's output holds this
	process string // a twin process's command line holds this
	sample  bool   // run by go test; MSGUARD_REHEARSE_KILL_POINTS=all runs every one
}

var rehearsalKillPoints = []rehearsalKillPoint{
	{name: "while the overlays are set up", pause: "overlays", sample: true},
	{name: "during the scratch directory load", pause: "directory.load", sample: true},
	{name: "the scratch directory serving, the plan not started", pause: "directory.served"},
	{name: "while production's servers start in the twin", output: "twin: " + "/"},
	{name: "during the backups", output: "backup.server_root"},
	{name: "during setup -k", process: "msg-setup", sample: true},
	{name: "while the upgraded servers start", output: "post.start"},
}

var failpointMsguard struct {
	once sync.Once
	path string
	err  error
}

// failpointMsguardBinary is msguard built with the failpoints tag (its
// pause points), once per test process.
func failpointMsguardBinary(t *testing.T) string {
	t.Helper()
	failpointMsguard.once.Do(func() {
		dir, err := os.MkdirTemp("", "msguard-failpoints-")
		if err != nil {
			failpointMsguard.err = err
			return
		}
		out := filepath.Join(dir, "msguard")
		b, err := exec.Command("go", "build", "-tags", "failpoints", "-o", out, ".").CombinedOutput()
		if err != nil {
			failpointMsguard.err = fmt.Errorf("go build -tags failpoints: %v\n%s", err, b)
		}
		failpointMsguard.path = out
	})
	if failpointMsguard.err != nil {
		t.Fatal(failpointMsguard.err)
	}
	return failpointMsguard.path
}

// TestRehearseKillPoints kills a rehearsal (SIGKILL of the rehearse
// process, as an operator's kill -9 or a lost session) at each point of
// the table, on a host whose directory is on another host, and proves
// after each: no process of the twin's PID namespace left, no mount of the
// twin's left (none under the scratch directory, no overlay at the
// overlaid paths), production's server root and directory unchanged (every
// file's bytes, mode and link target; every entry of its directory) and its daemons the same
// processes. The host and its directory are the same for every point: each
// rehearsal must leave them as it found them.
func TestRehearseKillPoints(t *testing.T) {
	all := os.Getenv("MSGUARD_REHEARSE_KILL_POINTS") == "all"
	bin := failpointMsguardBinary(t)
	dir := newExternalDirectory(t, true)
	r := newRehearsalHost(t, func(sc *sim.Scenario) {
		sc.DSExternal, sc.DSExternalURL, sc.DSInstances = true, dir.url, nil
		sc.DSVersion = "4.16"
	})
	waivers := externalDirectoryWaivers(t)
	pids, version, _ := productionState(t, r)
	contentBefore := treeContent(t, r.h.Root)
	exportBefore := dir.export(t)
	for _, kp := range rehearsalKillPoints {
		t.Run(kp.name, func(t *testing.T) {
			if !kp.sample && !all {
				t.Skip("MSGUARD_REHEARSE_KILL_POINTS=all (make rehearse-kill-sweep) runs every kill point")
			}
			scratch := filepath.Join(t.TempDir(), "scratch")
			twinNS := killRehearsalAt(t, r, bin, scratch, kp, "--waivers", waivers)
			// The kernel kills every process of a PID namespace whose
			// first process dies; the twin's first process dies of its
			// parent's death (its parent-death signal).
			var left []string
			for i := 0; i < 100; i++ {
				if left = pidNamespaceMembers(twinNS); len(left) == 0 {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			if len(left) > 0 {
				t.Errorf("processes of the twin's PID namespace left after the kill: %v", left)
			}
			if m := twinMountsLeft(t, scratch); len(m) > 0 {
				t.Errorf("the twin's mounts are left: %v", m)
			}
			if m := mountsAt(t, r.h.Root); len(m) > 0 {
				t.Errorf("mounts at the overlaid server root: %v", m)
			}
			after := treeContent(t, r.h.Root)
			for p, v := range after {
				if contentBefore[p] != v {
					t.Errorf("production's %s changed: %s -> %s", p, contentBefore[p], v)
				}
			}
			for p := range contentBefore {
				if _, ok := after[p]; !ok {
					t.Errorf("production's %s is gone", p)
				}
			}
			if !bytes.Equal(dir.export(t), exportBefore) {
				t.Errorf("production's directory changed")
			}
			pidsAfter, versionAfter, _ := productionState(t, r)
			if !slices.Equal(pids, pidsAfter) || version != versionAfter {
				t.Errorf("production changed: pids %v -> %v, version %s -> %s", pids, pidsAfter, version, versionAfter)
			}
		})
	}
}

// killRehearsalAt runs a rehearsal with bin, SIGKILLs it once it is at kp
// and returns the twin's PID namespace (as /proc/PID/ns/pid reads).
func killRehearsalAt(t *testing.T, r rehearsalHost, bin, scratch string, kp rehearsalKillPoint, extra ...string) string {
	t.Helper()
	args := append([]string{"rehearse", "--server-root", r.h.Root, "--bind-password-file", r.dmPW,
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--media", r.media, "--admin-password-file", r.adminPW,
		"--scratch", scratch, "--keep", "--no-progress", "--queue-watch", "10s"}, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), "MSGUARD_REHEARSE_PAUSE="+kp.pause)
	pr, pw, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	// The output stays read to the end: the twin must die of its
	// parent's death, not of a broken pipe.
	var mu sync.Mutex
	var out strings.Builder
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := pr.Read(buf)
			mu.Lock()
			out.Write(buf[:n])
			mu.Unlock()
			if err != nil {
				pr.Close()
				return
			}
		}
	}()
	output := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()

	selfNS, err := os.Readlink("/proc/self/ns/pid")
	if err != nil {
		t.Fatal(err)
	}
	var twinNS string
	for reached := false; !reached; {
		select {
		case <-exited:
			t.Fatalf("the rehearsal ended before %s:\n%s", kp.name, output())
		case <-time.After(5 * time.Millisecond):
		}
		twin := twinPIDs(cmd.Process.Pid)
		for _, pid := range twin {
			// The twin's first process is the first in a PID namespace
			// other than this one (rehearse's other children are the
			// collectors' commands, in this one).
			if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/pid", pid)); twinNS == "" && ns != "" && ns != selfNS {
				twinNS = ns
			}
		}
		switch {
		case kp.pause != "":
			_, err := os.Stat(filepath.Join(scratch, "paused-"+kp.pause))
			reached = err == nil
		case kp.output != "":
			reached = strings.Contains(output(), kp.output)
		case kp.process != "":
			for _, pid := range twin {
				if cl, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); bytes.Contains(cl, []byte(kp.process)) {
					syscall.Kill(pid, syscall.SIGSTOP)
					reached = true
				}
			}
		}
	}
	if twinNS == "" {
		t.Fatalf("no twin process seen at %s", kp.name)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	<-exited
	t.Logf("killed at %s; output:\n%s", kp.name, output())
	return twinNS
}

// twinPIDs are the processes below the rehearse process pid (the twin and
// everything it runs).
func twinPIDs(pid int) []int {
	children := map[int][]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
		if len(f) > 1 {
			ppid, _ := strconv.Atoi(f[1])
			children[ppid] = append(children[ppid], p)
		}
	}
	var out []int
	var walk func(int)
	walk = func(p int) {
		for _, c := range children[p] {
			out = append(out, c)
			walk(c)
		}
	}
	walk(pid)
	return out
}

// pidNamespaceMembers lists the processes in the PID namespace ns.
func pidNamespaceMembers(ns string) []string {
	var out []string
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		if l, err := os.Readlink("/proc/" + e.Name() + "/ns/pid"); err == nil && l == ns {
			cl, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
			out = append(out, e.Name()+" "+strings.ReplaceAll(string(cl), "\x00", " "))
		}
	}
	return out
}

// mountsAt lists the host's mounts at dir.
func mountsAt(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) > 4 && f[4] == dir {
			out = append(out, l)
		}
	}
	return out
}
