// Telling from /proc that an installer waits on its standard input.

package installer

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
)

// readSyscalls are the system call numbers of read, readv and pread64 by
// architecture, for telling from /proc that a process waits on its input.
var readSyscalls = map[string][]int{
	"amd64": {0, 17, 19},
	"arm64": {63, 65, 67},
	"386":   {3, 145, 180},
}

// stdinWaitSeen is processReadingStdin; tests replace it to drive
// installers as on a system without /proc.
var stdinWaitSeen = processReadingStdin

// processReadingStdin reports whether a thread of a process in group pgid
// is blocked in a read of its file descriptor 0, and that is stdin: the
// installer's input, not a pipe between two of its children (a nil stdin
// takes any). Without /proc it is false.
func processReadingStdin(pgid int, stdin os.FileInfo) bool {
	nrs := readSyscalls[runtime.GOARCH]
	if len(nrs) == 0 {
		return false
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || procGroup(pid) != pgid {
			continue
		}
		if stdin != nil {
			if fi, err := os.Stat(filepath.Join("/proc", e.Name(), "fd", "0")); err != nil || !os.SameFile(fi, stdin) {
				continue
			}
		}
		tasks, err := os.ReadDir(filepath.Join("/proc", e.Name(), "task"))
		if err != nil {
			continue
		}
		for _, t := range tasks {
			b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "task", t.Name(), "syscall"))
			if err != nil {
				continue
			}
			f := strings.Fields(string(b))
			if len(f) < 2 || f[1] != "0x0" {
				continue
			}
			nr, err := strconv.Atoi(f[0])
			if err != nil {
				continue
			}
			for _, r := range nrs {
				if nr == r {
					return true
				}
			}
		}
	}
	return false
}

// procGroup is the process group of pid from /proc/<pid>/stat, -1 if unknown.
func procGroup(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return -1
	}
	// The command name in parentheses may hold blanks and parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return -1
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 3 {
		return -1
	}
	g, err := strconv.Atoi(f[2])
	if err != nil {
		return -1
	}
	return g
}
