package directory

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterCtl("start-slapd", ctlVerb(Start))
	sim.RegisterCtl("stop-slapd", ctlVerb(Stop))
	sim.RegisterCtl("db2ldif", func(ctx context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
		if len(args) != 1 {
			return fmt.Errorf("db2ldif: want one slapd instance id, got %q", args)
		}
		path, err := DB2LDIF(ctx, st, args[0])
		if err != nil {
			return err
		}
		fmt.Fprintln(stdio.Out, path)
		return nil
	})
}

func ctlVerb(f func(context.Context, *sim.State, string, io.Writer) error) sim.CtlFunc {
	return func(ctx context.Context, st *sim.State, args []string, stdio sim.Stdio) error {
		if len(args) != 1 {
			return fmt.Errorf("want one slapd instance id, got %q", args)
		}
		return f(ctx, st, args[0], stdio.Out)
	}
}

// Timeouts of starting and stopping an instance.
var (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// running returns the supervisor pid of in if it runs.
func running(st *sim.State, in instance) (int, bool) {
	pid := readPid(in.pidFile())
	if pid == 0 || !alive(pid) || !under(exeOf(pid), st.Scenario.Root) {
		return 0, false
	}
	return pid, true
}

// Running reports whether slapd-<id> of the host runs, and its ns-slapd pid.
func Running(st *sim.State, id string) (int, bool) {
	in, err := instanceOf(st, id)
	if err != nil {
		return 0, false
	}
	return running(st, in)
}

// Start starts slapd-<id> detached (ROOT/bin/slapd/server/ns-slapd -D
// ROOT/slapd-<id>) and returns once cn=Directory Manager can bind. It is
// a no-op when the instance already runs.
func Start(ctx context.Context, st *sim.State, id string, out io.Writer) error {
	in, err := instanceOf(st, id)
	if err != nil {
		return err
	}
	if pid, ok := running(st, in); ok {
		fmt.Fprintf(out, "slapd-%s is already running (pid %d)\n", id, pid)
		return nil
	}
	// A real server left over by a killed supervisor would hold the port.
	if child := readPid(in.childPid()); isRealServer(child) {
		killAll(syscall.SIGTERM, child)
		waitGone(stopTimeout, child)
	}
	if err := os.MkdirAll(in.logs(), 0o755); err != nil {
		return fmt.Errorf("start slapd-%s: %w", id, err)
	}
	logf, err := os.OpenFile(in.errorsLog(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start slapd-%s: %w", id, err)
	}
	offset, _ := logf.Seek(0, io.SeekEnd)
	fmt.Fprintf(logf, "[%s] starting slapd-%s\n", time.Now().Format(time.RFC3339), id)
	cmd := exec.Command(st.Paths().NsSlapd(), "-D", in.Dir)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	logf.Close()
	if err != nil {
		return fmt.Errorf("start slapd-%s: %w", id, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	url := URL(st, id)
	deadline := time.Now().Add(startTimeout)
	var lastErr error
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("start slapd-%s: ns-slapd exited (%v): %s", id, err, logTail(in.errorsLog(), offset))
		case <-ctx.Done():
			cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("start slapd-%s: %w", id, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
		bctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr = Bind(bctx, url, DirectoryManagerDN, st.Scenario.Secrets.DirectoryManager)
		cancel()
		if lastErr == nil {
			fmt.Fprintf(out, "slapd-%s started (pid %d, %s)\n", id, cmd.Process.Pid, url)
			return nil
		}
		if time.Now().After(deadline) {
			cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(stopTimeout):
				cmd.Process.Kill()
			}
			return fmt.Errorf("start slapd-%s: no bind within %s (%v): %s", id, startTimeout, lastErr, logTail(in.errorsLog(), offset))
		}
	}
}

// logTail is the end of a log written since offset, for error messages.
func logTail(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "no log: " + err.Error()
	}
	if offset > 0 && offset <= int64(len(b)) {
		b = b[offset:]
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 15 {
		lines = lines[len(lines)-15:]
	}
	return "log " + path + ":\n" + strings.Join(lines, "\n")
}

// Stop stops slapd-<id>: SIGTERM to its ns-slapd, which forwards it to
// the real server; it returns when both are gone (zombies count as gone).
func Stop(ctx context.Context, st *sim.State, id string, out io.Writer) error {
	in, err := instanceOf(st, id)
	if err != nil {
		return err
	}
	pid, ok := running(st, in)
	child := readPid(in.childPid())
	if !isRealServer(child) {
		child = 0
	}
	if !ok && child == 0 {
		fmt.Fprintf(out, "slapd-%s is not running\n", id)
		return nil
	}
	if ok {
		killAll(syscall.SIGTERM, pid)
	} else {
		killAll(syscall.SIGTERM, child)
	}
	if !waitGone(stopTimeout, pid, child) {
		killAll(syscall.SIGKILL, pid, child)
		if !waitGone(5*time.Second, pid, child) {
			return fmt.Errorf("stop slapd-%s: pids %d %d still running", id, pid, child)
		}
	}
	fmt.Fprintf(out, "slapd-%s stopped\n", id)
	return nil
}

// DB2LDIF exports every suffix of slapd-<id> to
// ROOT/slapd-<id>/ldif/<YYYY_MM_DD_HHMMSS>.ldif and returns the path.
// Simulated faults: with FailSpec.Silent "db2ldif" it returns the path
// and writes nothing; with FailSpec.EmptyLDIF the file holds only the
// "version: 1" line.
func DB2LDIF(ctx context.Context, st *sim.State, id string) (string, error) {
	in, err := instanceOf(st, id)
	if err != nil {
		return "", err
	}
	if st.Scenario.Fail.IsSilent(sim.SilentDB2LDIF) {
		return filepath.Join(in.ldifDir(), time.Now().Format("2006_01_02_150405")+".ldif"), nil
	}
	if err := os.MkdirAll(in.ldifDir(), 0o755); err != nil {
		return "", fmt.Errorf("db2ldif slapd-%s: %w", id, err)
	}
	path := filepath.Join(in.ldifDir(), time.Now().Format("2006_01_02_150405")+".ldif")
	f, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("db2ldif slapd-%s: %w", id, err)
	}
	defer os.Remove(f.Name())
	switch {
	case st.Scenario.Fail.EmptyLDIF:
		_, err = io.WriteString(f, "version: 1\n")
	case st.Scenario.DSBackend == "389":
		err = ldapExport(ctx, st, in, f)
	default:
		err = slapcatExport(ctx, in, f)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return "", fmt.Errorf("db2ldif slapd-%s: %w", id, err)
	}
	return path, nil
}
