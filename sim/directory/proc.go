package directory

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// readPid reads a pid file; 0 when absent or unreadable.
func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

func writePid(path string, pid int) error {
	return os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// removePidIf removes a pid file if it still names pid.
func removePidIf(path string, pid int) {
	if readPid(path) == pid {
		os.Remove(path)
	}
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	// pid (comm) S ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return false
	}
	switch s[i+2] {
	case 'Z', 'X', 'x':
		return false
	}
	return true
}

// exeOf is /proc/<pid>/exe, without a " (deleted)" mark.
func exeOf(pid int) string {
	exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe"))
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(exe, " (deleted)")
}

// cmdlineOf is the NUL-separated command line of pid, split.
func cmdlineOf(pid int) []string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
}

// under reports whether path is root or inside it.
func under(path, root string) bool {
	root = filepath.Clean(root)
	return path == root || strings.HasPrefix(path, root+string(filepath.Separator))
}

// isRealServer reports whether pid runs a real directory server binary.
func isRealServer(pid int) bool {
	if !alive(pid) {
		return false
	}
	switch exeOf(pid) {
	case slapdBin, ns389Bin:
		return true
	}
	return false
}

// waitGone waits until none of pids is alive; false on timeout.
func waitGone(timeout time.Duration, pids ...int) bool {
	deadline := time.Now().Add(timeout)
	for {
		any := false
		for _, p := range pids {
			if alive(p) {
				any = true
			}
		}
		if !any {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killAll sends sig to every live pid.
func killAll(sig syscall.Signal, pids ...int) {
	for _, p := range pids {
		if alive(p) {
			syscall.Kill(p, sig)
		}
	}
}

// allPids lists the numeric entries of /proc.
func allPids() []int {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range ents {
		if pid, err := strconv.Atoi(e.Name()); err == nil {
			out = append(out, pid)
		}
	}
	return out
}
