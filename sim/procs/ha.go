package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/msguard/msguard/sim"
)

// haMonitorStopTimeout bounds the wait for the cluster monitor to exit: it
// finishes a start-msg it is running before it does.
const haMonitorStopTimeout = 45 * time.Second

// lockFile takes an exclusive flock on path (created if missing), waiting
// for it, and returns the function that releases it.
func lockFile(path string) (func(), error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// runMsgScript runs INST/<script> ha as the cluster agent does, its output
// going to out.
func runMsgScript(ctx context.Context, p sim.Paths, script string, out io.Writer) error {
	path := filepath.Join(p.Inst(), script)
	cmd := exec.CommandContext(ctx, path, "ha")
	cmd.Dir = p.Inst()
	cmd.Stdin = nil
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s ha: %w", path, err)
	}
	return nil
}

// StartMsgHA is how the simulated clusters start the Messaging Server:
// `INST/start-msg ha`, unless a messaging daemon of the install already
// runs (MsgRunning). It holds RunDir/ha-start.lock from the check to the
// end of start-msg, so the cluster monitor and a cluster command that
// turns the service on never both start it. It reports whether it ran
// start-msg.
//
// still, when not nil, is asked under the lock whether the start is still
// wanted (the monitor checks that the service is still on: a cluster
// command may have turned it off while the monitor waited for the lock).
func StartMsgHA(ctx context.Context, st *sim.State, out io.Writer, still func() bool) (bool, error) {
	p := st.Paths()
	unlock, err := lockFile(filepath.Join(p.RunDir(), "ha-start.lock"))
	if err != nil {
		return false, err
	}
	defer unlock()
	if still != nil && !still() {
		return false, nil
	}
	pids, err := MsgRunning(p)
	if err != nil {
		return false, err
	}
	if len(pids) > 0 {
		return false, nil
	}
	return true, runMsgScript(ctx, p, "start-msg", out)
}

// StopMsgHA is how the simulated clusters stop the Messaging Server:
// `INST/stop-msg ha`, which returns when every daemon has exited. It takes
// the start lock too, as a cluster runs one method of a resource at a
// time: a start the monitor has begun finishes first, then everything
// it started is stopped.
func StopMsgHA(ctx context.Context, st *sim.State, out io.Writer) error {
	unlock, err := lockFile(filepath.Join(st.Paths().RunDir(), "ha-start.lock"))
	if err != nil {
		return err
	}
	defer unlock()
	return runMsgScript(ctx, st.Paths(), "stop-msg", out)
}

// startHAMonitor starts the cluster monitor of an HA host
// (Paths.HAMonitor(), see package media) unless it runs already: `ha-monitor
// -daemon` detaches it (it is no child of this process) and returns once it
// has written RunDir/ha-monitor.pid; its output goes to RunDir/ha-monitor.log.
func startHAMonitor(st *sim.State, log io.Writer) error {
	p := st.Paths()
	if _, err := os.Stat(p.HAMonitor()); err != nil {
		return fmt.Errorf("start cluster monitor: %w", err)
	}
	ps, err := findByExe(p.HAMonitor(), "")
	if err != nil {
		return err
	}
	if len(ps) > 0 {
		fmt.Fprintf(log, "cluster monitor already running: pid %d\n", ps[0].pid)
		return nil
	}
	logPath := filepath.Join(p.RunDir(), "ha-monitor.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start cluster monitor: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command(p.HAMonitor(), "-daemon")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Dir = p.RunDir()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("start cluster monitor: %w: %s", err, logTail(logPath))
	}
	fmt.Fprintf(log, "cluster monitor started: pid %d (log %s)\n", readPidFile(pidFile(p, "ha-monitor")), logPath)
	return nil
}

// stopHAMonitor stops the cluster monitor (SIGTERM, then waits for it).
func stopHAMonitor(p sim.Paths, log io.Writer) error {
	ps, err := findByExe(p.HAMonitor(), "")
	if err != nil || len(ps) == 0 {
		return err
	}
	var pids []int
	for _, pr := range ps {
		fmt.Fprintf(log, "stopping cluster monitor (pid %d)\n", pr.pid)
		pids = append(pids, pr.pid)
	}
	return signalAndWait("cluster monitor", pids, syscall.SIGTERM, haMonitorStopTimeout)
}
