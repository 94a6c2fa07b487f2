package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/sim"
)

// runScript runs one of the install's scripts as an operator would, its
// output going to log.
func runScript(ctx context.Context, log io.Writer, script string, args ...string) error {
	fmt.Fprintf(log, "$ %s\n", strings.Join(append([]string{script}, args...), " "))
	cmd := exec.CommandContext(ctx, script, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Dir = filepath.Dir(script)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("run %s: %w", script, err)
	}
	return nil
}

// existing returns the paths of glob that exist, sorted.
func existing(glob string) []string {
	m, _ := filepath.Glob(glob)
	slices.Sort(m)
	return m
}

// Start starts every service of the host through its own scripts:
// slapd-*/start-slapd, start-admin, msg-*/start-msg, https-*/start. It
// stops at the first failure. On an HA host (Scenario.HA not "none") it
// runs `start-msg ha` (plain start-msg starts nothing there) and then
// starts the cluster monitor (Paths.HAMonitor()), which keeps running and
// restarts the messaging daemons while the cluster has the service on.
func Start(ctx context.Context, root string, log io.Writer) error {
	st, err := sim.LoadState(root)
	if err != nil {
		return err
	}
	p := st.Paths()
	type script struct {
		path string
		args []string
	}
	var scripts []script
	for _, s := range existing(filepath.Join(p.Root, "slapd-*", "start-slapd")) {
		scripts = append(scripts, script{path: s})
	}
	scripts = append(scripts, script{path: filepath.Join(p.Root, "start-admin")})
	msg := script{path: filepath.Join(p.Inst(), "start-msg")}
	if haHost(st) {
		msg.args = []string{"ha"}
	}
	scripts = append(scripts, msg)
	for _, s := range existing(filepath.Join(p.WSRoot, "https-*", "start")) {
		scripts = append(scripts, script{path: s})
	}
	for _, s := range scripts {
		if err := runScript(ctx, log, s.path, s.args...); err != nil {
			return err
		}
	}
	if haHost(st) {
		return startHAMonitor(st, log)
	}
	return nil
}

// Stop stops every service of the host through its own scripts, in the
// reverse order: https-*/stop, stop-msg, stop-admin, slapd-*/stop-slapd.
// On an HA host it stops the cluster monitor first, so that it does not
// start the messaging daemons again behind stop-msg, and runs
// `stop-msg ha`. Every script runs; their errors are joined.
func Stop(ctx context.Context, root string, log io.Writer) error {
	st, err := sim.LoadState(root)
	if err != nil {
		return err
	}
	p := st.Paths()
	var errs []error
	if err := stopHAMonitor(p, log); err != nil {
		errs = append(errs, err)
	}
	scripts := existing(filepath.Join(p.WSRoot, "https-*", "stop"))
	for _, s := range []string{filepath.Join(p.Inst(), "stop-msg"), filepath.Join(p.Root, "stop-admin")} {
		if _, err := os.Stat(s); err == nil {
			scripts = append(scripts, s)
		}
	}
	scripts = append(scripts, existing(filepath.Join(p.Root, "slapd-*", "stop-slapd"))...)
	for _, s := range scripts {
		var args []string
		if s == filepath.Join(p.Inst(), "stop-msg") && haHost(st) {
			args = []string{"ha"}
		}
		if err := runScript(ctx, log, s, args...); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Destroy stops everything the host started, runs the registered
// teardowns (loop device, directory dirs) and removes the tree. It works
// on a half-created root: without a state file it still kills the
// processes running from the root and removes it. It refuses a directory
// that is not a msguard-sim root (no .msguard-sim inside).
func Destroy(ctx context.Context, root string, log io.Writer) error {
	if !filepath.IsAbs(root) || filepath.Clean(root) == "/" {
		return fmt.Errorf("destroy %q: root must be an absolute path other than /", root)
	}
	root = filepath.Clean(root)
	if _, err := os.Stat(root); errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if _, err := os.Stat(sim.Paths{Root: root}.StateDir()); err != nil {
		return fmt.Errorf("destroy %s: not a msguard-sim root: %w", root, err)
	}
	var errs []error
	dirs := []string{root}
	st, err := sim.LoadState(root)
	if err != nil {
		fmt.Fprintf(log, "destroy: %v; killing processes and removing the tree only\n", err)
	} else {
		if ws := st.Scenario.WebServerRoot; separateWSRoot(ws, root) {
			dirs = append(dirs, ws)
		}
		if err := Stop(ctx, root, log); err != nil {
			errs = append(errs, err)
		}
	}
	if err := killUnder(dirs, log); err != nil {
		errs = append(errs, err)
	}
	if st != nil {
		if err := sim.RunTeardowns(ctx, st, log); err != nil {
			errs = append(errs, err)
		}
	}
	for _, d := range dirs {
		if err := os.RemoveAll(d); err != nil {
			errs = append(errs, fmt.Errorf("remove %s: %w", d, err))
		}
	}
	sim.ReleasePorts(root)
	return errors.Join(errs...)
}

// separateWSRoot reports whether ws is a Web Server root of its own that
// Destroy may remove: absolute, not /, neither root nor above or below it.
func separateWSRoot(ws, root string) bool {
	if ws == "" || !filepath.IsAbs(ws) || filepath.Clean(ws) == "/" {
		return false
	}
	w, r := canon(ws), canon(root)
	return !under(w, r) && !under(r, w)
}

// killUnder sends SIGKILL to every process whose executable resolves under
// one of dirs and waits until they are gone (or zombies).
func killUnder(dirs []string, log io.Writer) error {
	all, err := scanProcs()
	if err != nil {
		return err
	}
	var pids []int
	for _, p := range all {
		for _, d := range dirs {
			if under(p.exe, canon(d)) {
				fmt.Fprintf(log, "destroy: killing %s (pid %d)\n", p.exe, p.pid)
				pids = append(pids, p.pid)
				break
			}
		}
	}
	if len(pids) == 0 {
		return nil
	}
	return signalAndWait("leftover processes", pids, syscall.SIGKILL, 5*time.Second)
}
