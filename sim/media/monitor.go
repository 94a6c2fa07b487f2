package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/procs"
)

// haMonitorName is the cluster monitor's program name; it runs as
// Paths.HAMonitor() (ROOT/.msguard-sim/cluster-bin/ha-monitor).
const haMonitorName = "ha-monitor"

// Cluster monitor timing: how often it reads the state, and how long it
// waits after a start-msg that failed before it tries again.
const (
	MonitorPoll    = 300 * time.Millisecond
	monitorBackoff = 3 * time.Second
)

// haMonitor is the cluster monitor, the fault monitor that real cluster
// agents run: about every MonitorPoll it reads the host state and, when
// the Messaging service is under cluster control and on (ServiceOn) and
// no messaging daemon of the install runs (procs.MsgRunning, the check
// start-msg makes), it runs `INST/start-msg ha` through procs.StartMsgHA,
// whose lock keeps it from starting the daemons twice when a cluster
// command or an operator starts them at the same time. It writes what it
// does to stdout (procs.Start sends it to RunDir/ha-monitor.log).
//
// procs.Start starts it on HA hosts and it keeps running; procs.Stop
// stops it first (SIGTERM: it finishes a start-msg it is running, then
// exits), so that stopping the host sticks; Destroy kills it with the
// other processes under the root. One monitor runs per host: it holds an
// flock on RunDir/ha-monitor.lock and writes RunDir/ha-monitor.pid. It
// exits by itself when the host's state file is gone.
//
// `ha-monitor -daemon` detaches it as a real cluster daemon is: it starts
// the monitor in a session of its own (so that it is nobody's child),
// waits until it has written its pid file and exits 0; its output goes
// where -daemon's did.
func haMonitor(ctx context.Context, args []string, stdio sim.Stdio) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stdio.Err, "%s: find own executable: %v\n", haMonitorName, err)
		return 2
	}
	root, err := rootOf(haMonitorName, exe)
	if err != nil {
		fmt.Fprintln(stdio.Err, err)
		return 2
	}
	p := sim.Paths{Root: root}
	switch {
	case len(args) == 1 && args[0] == "-daemon":
		return detachMonitor(p, stdio)
	case len(args) > 0:
		fmt.Fprintf(stdio.Err, "usage: %s [-daemon]\n", haMonitorName)
		return 2
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stdio.Out, "%s %s: %s\n", time.Now().Format(time.RFC3339), haMonitorName, fmt.Sprintf(format, a...))
	}
	if err := os.MkdirAll(p.RunDir(), 0o755); err != nil {
		fmt.Fprintf(stdio.Err, "%s: %v\n", haMonitorName, err)
		return 1
	}
	lock, err := os.OpenFile(filepath.Join(p.RunDir(), haMonitorName+".lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Fprintf(stdio.Err, "%s: %v\n", haMonitorName, err)
		return 1
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		fmt.Fprintf(stdio.Err, "%s: another monitor runs for %s: %v\n", haMonitorName, root, err)
		return 1
	}
	pidFile := filepath.Join(p.RunDir(), haMonitorName+".pid")
	if err := sim.WriteFileAtomic(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		fmt.Fprintf(stdio.Err, "%s: write pid file: %v\n", haMonitorName, err)
		return 1
	}
	defer os.Remove(pidFile)
	logf("pid %d watching %s", os.Getpid(), root)
	code := monitorLoop(ctx, root, stdio.Out, logf)
	logf("pid %d exiting", os.Getpid())
	return code
}

// monitorLoop is the monitor's polling loop; it returns when ctx ends or
// the state file is gone.
func monitorLoop(ctx context.Context, root string, out io.Writer, logf func(string, ...any)) int {
	tick := time.NewTicker(MonitorPoll)
	defer tick.Stop()
	var lastErr string
	var retryAt time.Time
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
		}
		st, err := sim.LoadState(root)
		if errors.Is(err, fs.ErrNotExist) {
			logf("host state is gone: exiting")
			return 0
		}
		if err != nil {
			if err.Error() != lastErr {
				logf("%v", err)
				lastErr = err.Error()
			}
			continue
		}
		if !ServiceOn(st) || time.Now().Before(retryAt) {
			continue
		}
		pids, err := procs.MsgRunning(st.Paths())
		if err != nil || len(pids) > 0 {
			continue
		}
		logf("%s service is on and no messaging daemon runs: start-msg ha", st.Scenario.HA)
		// Not ctx: a SIGTERM lets a start-msg that has begun finish.
		stillOn := func() bool {
			now, err := sim.LoadState(root)
			return err == nil && ServiceOn(now)
		}
		started, err := procs.StartMsgHA(context.Background(), st, out, stillOn)
		switch {
		case err != nil:
			logf("start-msg ha failed (next try in %s): %v", monitorBackoff, err)
			retryAt = time.Now().Add(monitorBackoff)
		case started:
			logf("messaging daemons started")
		default:
			logf("messaging daemons already started by someone else")
		}
	}
}

// detachMonitor starts the monitor (Paths.HAMonitor()) in its own session
// with stdin on /dev/null and the caller's stdout and stderr, and waits up
// to ten seconds for its pid file.
func detachMonitor(p sim.Paths, stdio sim.Stdio) int {
	null, err := os.Open(os.DevNull)
	if err != nil {
		fmt.Fprintf(stdio.Err, "%s: %v\n", haMonitorName, err)
		return 1
	}
	defer null.Close()
	cmd := exec.Command(p.HAMonitor())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = null, stdio.Out, stdio.Err
	cmd.Dir = p.RunDir()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(stdio.Err, "%s: start: %v\n", haMonitorName, err)
		return 1
	}
	pid := cmd.Process.Pid
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	pidFile := filepath.Join(p.RunDir(), haMonitorName+".pid")
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			fmt.Fprintf(stdio.Err, "%s: pid %d exited at start: %v\n", haMonitorName, pid, err)
			return 1
		case <-time.After(50 * time.Millisecond):
		}
		if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
			return 0
		}
	}
	fmt.Fprintf(stdio.Err, "%s: pid %d wrote no pid file in 10s\n", haMonitorName, pid)
	return 1
}
