package directory

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterProgram("ns-slapd", nsSlapd)
}

// vendorLine is the first line of `ns-slapd -v`.
const vendorLine = "Netscape Communications Corp."

// nsSlapd is ROOT/bin/slapd/server/ns-slapd: `-v` prints the version,
// `-D ROOT/slapd-<id>` runs that instance's real server in the foreground.
func nsSlapd(ctx context.Context, args []string, stdio sim.Stdio) int {
	switch {
	case len(args) == 1 && args[0] == "-v":
		return nsSlapdVersion(stdio)
	case len(args) == 2 && args[0] == "-D":
		if err := supervise(args[1], stdio); err != nil {
			fmt.Fprintln(stdio.Err, "ns-slapd:", err)
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() > 0 {
				return ee.ExitCode()
			}
			return 1
		}
		return 0
	}
	fmt.Fprintln(stdio.Err, "usage: ns-slapd -v | ns-slapd -D <server-root>/slapd-<id>")
	return 2
}

func nsSlapdVersion(stdio sim.Stdio) int {
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(stdio.Err, "ns-slapd: find own executable:", err)
		return 1
	}
	// ROOT/bin/slapd/server/ns-slapd
	root := filepath.Dir(filepath.Dir(filepath.Dir(filepath.Dir(exe))))
	st, err := sim.LoadState(root)
	if err != nil {
		fmt.Fprintln(stdio.Err, "ns-slapd:", err)
		return 1
	}
	line, ok := sim.DSVendorLines[st.DSVersion]
	if !ok {
		fmt.Fprintf(stdio.Err, "ns-slapd: unknown directory version %q\n", st.DSVersion)
		return 1
	}
	fmt.Fprintln(stdio.Out, vendorLine)
	fmt.Fprintln(stdio.Out, line)
	return 0
}

// supervise runs the real server of ROOT/slapd-<id> as a child, records
// the pids in slapd-<id>/logs, forwards SIGTERM/SIGINT/SIGHUP and returns
// when the child exits.
func supervise(dir string, stdio sim.Stdio) error {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("instance dir: %w", err)
	}
	root, base := filepath.Dir(dir), filepath.Base(dir)
	id, ok := strings.CutPrefix(base, "slapd-")
	if !ok {
		return fmt.Errorf("instance dir %s: want <server-root>/slapd-<id>", dir)
	}
	st, err := sim.LoadState(root)
	if err != nil {
		return err
	}
	in, err := instanceOf(st, id)
	if err != nil {
		return err
	}
	var cmd *exec.Cmd
	switch st.Scenario.DSBackend {
	case "389":
		cmd = ds389Command(st, in)
	default:
		cmd = openLDAPCommand(in)
	}
	cmd.Stdout, cmd.Stderr = stdio.Out, stdio.Err
	// The child dies with the supervisor; Pdeathsig follows the thread.
	runtime.LockOSThread()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	self, child := os.Getpid(), cmd.Process.Pid
	err = writePid(in.childPid(), child)
	if err == nil {
		err = writePid(in.pidFile(), self)
	}
	if err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		return fmt.Errorf("write pid file of slapd-%s: %w", id, err)
	}
	defer removePidIf(in.pidFile(), self)
	defer removePidIf(in.childPid(), child)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case s := <-sigs:
			cmd.Process.Signal(s)
		case err := <-done:
			if err != nil {
				return fmt.Errorf("%s: %w", filepath.Base(cmd.Path), err)
			}
			return nil
		}
	}
}
