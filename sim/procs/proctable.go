package procs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// proc is one live process of the process table.
type proc struct {
	pid  int
	exe  string   // resolved executable path (" (deleted)" removed)
	args []string // argv, argv[0] included
}

// daemon is the base name of the process's executable.
func (p proc) daemon() string { return filepath.Base(p.exe) }

// arg returns the value following flag in argv ("" when absent).
func (p proc) arg(flag string) string {
	for i := 1; i+1 < len(p.args); i++ {
		if p.args[i] == flag {
			return p.args[i+1]
		}
	}
	return ""
}

// scanProcs lists the processes whose executable can be resolved: a
// zombie has none and is left out, as is this process.
func scanProcs() ([]proc, error) {
	d, err := os.Open("/proc")
	if err != nil {
		return nil, fmt.Errorf("read process table: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("read process table: %w", err)
	}
	self := os.Getpid()
	var out []proc
	for _, n := range names {
		pid, err := strconv.Atoi(n)
		if err != nil || pid == self {
			continue
		}
		exe, err := os.Readlink("/proc/" + n + "/exe")
		if err != nil {
			continue
		}
		b, _ := os.ReadFile("/proc/" + n + "/cmdline")
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		out = append(out, proc{pid: pid, exe: strings.TrimSuffix(exe, " (deleted)"), args: args})
	}
	slices.SortFunc(out, func(a, b proc) int { return a.pid - b.pid })
	return out, nil
}

// canon resolves the symbolic links of path's directory, so it compares
// equal to what /proc/<pid>/exe shows; path itself may be missing.
func canon(path string) string {
	path = filepath.Clean(path)
	if r, err := filepath.EvalSymlinks(path); err == nil {
		return r
	}
	if r, err := filepath.EvalSymlinks(filepath.Dir(path)); err == nil {
		return filepath.Join(r, filepath.Base(path))
	}
	return path
}

// under reports whether path is dir or inside it (both canonical).
func under(path, dir string) bool {
	return path == dir || strings.HasPrefix(path, strings.TrimSuffix(dir, "/")+"/")
}

// findByExe returns the live processes running executable exe whose -d
// argument is configDir (any when configDir is "").
func findByExe(exe, configDir string) ([]proc, error) {
	all, err := scanProcs()
	if err != nil {
		return nil, err
	}
	exe = canon(exe)
	var out []proc
	for _, p := range all {
		if p.exe != exe {
			continue
		}
		if configDir != "" && canon(p.arg("-d")) != canon(configDir) {
			continue
		}
		out = append(out, p)
	}
	return out, nil
}

// exited reports whether pid is gone or a zombie (state Z or X in
// /proc/<pid>/stat): PID 1 here does not reap orphans.
func exited(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return true
	}
	st := s[i+2]
	return st == 'Z' || st == 'X'
}

// signalAndWait sends sig to every pid and waits until all have exited
// (zombies count), reaping those that are this process's children. On
// timeout it names the pids still alive.
func signalAndWait(what string, pids []int, sig syscall.Signal, timeout time.Duration) error {
	for _, pid := range pids {
		if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("signal %s pid %d: %w", what, pid, err)
		}
	}
	deadline := time.Now().Add(timeout)
	for {
		var alive []int
		for _, pid := range pids {
			var ws syscall.WaitStatus
			_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
			if !exited(pid) {
				alive = append(alive, pid)
			}
		}
		if len(alive) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("stop %s: pids %v still running after %s", what, alive, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// readPidFile returns the pid in a pid file (0 when missing or invalid).
func readPidFile(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}
