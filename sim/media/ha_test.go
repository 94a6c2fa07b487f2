package media_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/procs"
	"github.com/msguard/msguard/sim/simtest"
)

// clusterCLI runs a cluster CLI from the host's cluster-bin and returns
// its combined output and exit code.
func clusterCLI(t *testing.T, h *simtest.Host, name string, args ...string) (string, int) {
	t.Helper()
	out, err := exec.Command(filepath.Join(h.Paths.ClusterBin(), name), args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return string(out), ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %v: %v", name, args, err)
	}
	return string(out), 0
}

// mustCLI runs a cluster CLI that must succeed.
func mustCLI(t *testing.T, h *simtest.Host, name string, args ...string) string {
	t.Helper()
	out, code := clusterCLI(t, h, name, args...)
	if code != 0 {
		t.Fatalf("%s %v: exit %d:\n%s", name, args, code, out)
	}
	return out
}

// msgRunning is how many messaging daemons of the host run.
func msgRunning(t *testing.T, h *simtest.Host) int {
	t.Helper()
	pids, err := procs.MsgRunning(h.Paths)
	if err != nil {
		t.Fatal(err)
	}
	return len(pids)
}

// waitRunning waits up to d for the daemons to run (want true) or not.
func waitRunning(t *testing.T, h *simtest.Host, want bool, d time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if (msgRunning(t, h) > 0) == want {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// monitorPid is the cluster monitor's pid (0 when none runs).
func monitorPid(h *simtest.Host) int {
	b, err := os.ReadFile(filepath.Join(h.Paths.RunDir(), "ha-monitor.pid"))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || syscall.Kill(pid, 0) != nil {
		return 0
	}
	return pid
}

// TestHAMonitor runs a Sun Cluster 2.2 host: the cluster monitor restarts
// the daemons stopped behind its back while the service is on, leaves
// them stopped while it is off, hareg -n/-y stop and start them before
// they return, plain start-msg starts nothing, and stopping the host
// sticks.
func TestHAMonitor(t *testing.T) {
	h := simtest.New(t, func(sc *sim.Scenario) { sc.HA = "sc22" })
	h.Start(t)
	if msgRunning(t, h) == 0 {
		t.Fatal("procs.Start on an HA host started no messaging daemon")
	}
	if monitorPid(h) == 0 {
		t.Fatal("procs.Start on an HA host started no cluster monitor")
	}

	// Stopped behind the cluster's back: the monitor starts them again.
	h.Run(t, "msg-budgie/stop-msg")
	if !waitRunning(t, h, true, 5*time.Second) {
		t.Fatal("the cluster monitor did not restart the stopped daemons within 5s while the service is on")
	}
	log, _ := os.ReadFile(filepath.Join(h.Paths.RunDir(), "ha-monitor.log"))
	if !strings.Contains(string(log), "start-msg ha") {
		t.Errorf("monitor log does not say it ran start-msg ha:\n%s", log)
	}

	// Off: hareg -n stops them before it returns, and they stay stopped.
	mustCLI(t, h, "hareg", "-n", media.SC22Service)
	if n := msgRunning(t, h); n != 0 {
		t.Fatalf("%d messaging daemons run right after hareg -n", n)
	}
	time.Sleep(4 * media.MonitorPoll)
	if n := msgRunning(t, h); n != 0 {
		t.Fatalf("the monitor started %d daemons while the service is off", n)
	}

	// Plain start-msg on an HA host: a message, exit 0, nothing started.
	out := h.Run(t, "msg-budgie/start-msg")
	if !strings.Contains(out, procs.HAStartRefusal) {
		t.Errorf("start-msg without ha printed %q", out)
	}
	if n := msgRunning(t, h); n != 0 {
		t.Fatalf("start-msg without ha on an HA host started %d daemons", n)
	}

	// On: hareg -y starts them before it returns.
	mustCLI(t, h, "hareg", "-y", media.SC22Service)
	if msgRunning(t, h) == 0 {
		t.Fatal("no messaging daemon runs right after hareg -y")
	}

	// Stopping the host stops the monitor first: the daemons stay down.
	h.Stop(t)
	time.Sleep(4 * media.MonitorPoll)
	if n := msgRunning(t, h); n != 0 {
		t.Fatalf("%d messaging daemons run after procs.Stop", n)
	}
	if pid := monitorPid(h); pid != 0 {
		t.Fatalf("cluster monitor pid %d still runs after procs.Stop", pid)
	}
}

// TestHAOffline takes the Messaging service offline and online again
// through each cluster's CLIs: offline stops the daemons before the
// command returns, online starts them; a cluster that refuses offline
// leaves them running and exits 0.
func TestHAOffline(t *testing.T) {
	tests := []struct {
		name         string
		edit         func(*sim.Scenario)
		offline      [][]string
		online       [][]string
		refusesOffln bool
	}{
		{name: "vcs", edit: func(sc *sim.Scenario) { sc.HA = "vcs" },
			offline: [][]string{{"hagrp", "-offline", "iMS5", "-sys", "SYS"}},
			online:  [][]string{{"hagrp", "-online", "iMS5", "-sys", "SYS"}}},
		{name: "sc3", edit: func(sc *sim.Scenario) { sc.HA = "sc3" },
			offline: [][]string{{"scswitch", "-n", "-j", "ims-rs"}},
			online:  [][]string{{"scswitch", "-e", "-j", "ims-rs"}}},
		{name: "vcs mail disabled", edit: func(sc *sim.Scenario) { sc.HA = "vcs" },
			offline: [][]string{{"hares", "-modify", "mail", "Enabled", "0"}},
			online:  [][]string{{"hares", "-modify", "mail", "Enabled", "1"}, {"hagrp", "-online", "iMS5", "-sys", "SYS"}}},
		{name: "sc3 refusing offline", edit: func(sc *sim.Scenario) { sc.HA, sc.Fail.HARefuseOffline = "sc3", true },
			offline: [][]string{{"scswitch", "-n", "-j", "ims-rs"}}, refusesOffln: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := simtest.New(t, tt.edit)
			sys := strings.Split(h.State.Scenario.Host, ".")[0]
			run := func(cmds [][]string) {
				for _, c := range cmds {
					args := append([]string(nil), c[1:]...)
					for i := range args {
						args[i] = strings.Replace(args[i], "SYS", sys, 1)
					}
					mustCLI(t, h, c[0], args...)
				}
			}
			h.Run(t, "msg-budgie/start-msg", "ha")
			if msgRunning(t, h) == 0 {
				t.Fatal("start-msg ha started nothing")
			}
			run(tt.offline)
			if tt.refusesOffln {
				if msgRunning(t, h) == 0 {
					t.Fatal("a cluster refusing offline stopped the daemons")
				}
				if !media.ServiceOn(h.Reload(t)) {
					t.Fatal("a cluster refusing offline turned the service off")
				}
				return
			}
			if n := msgRunning(t, h); n != 0 {
				t.Fatalf("%d messaging daemons run right after %v", n, tt.offline)
			}
			if media.ServiceOn(h.Reload(t)) {
				t.Fatal("service still on after going offline")
			}
			run(tt.online)
			if msgRunning(t, h) == 0 {
				t.Fatalf("no messaging daemon runs right after %v", tt.online)
			}
			h.Run(t, "msg-budgie/stop-msg", "ha")
		})
	}
}
