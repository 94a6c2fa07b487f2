package directory

import (
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"time"

	"github.com/msguard/msguard/sim"
)

// Teardown kills what is left of the host's directory servers (ns-slapd
// supervisors and real slapd or 389 servers of this root, found by pid
// file and command line) and removes State.DirectoryDirs.
func Teardown(ctx context.Context, st *sim.State, log io.Writer) error {
	root := st.Scenario.Root
	nsSlapd := st.Paths().NsSlapd()
	var names []string
	for _, in := range instances(st) {
		names = append(names, ds389ConfigDir(ds389Name(st, in)))
	}
	var victims []int
	seen := map[int]bool{}
	add := func(pid int) {
		if pid > 0 && !seen[pid] && alive(pid) {
			seen[pid] = true
			victims = append(victims, pid)
		}
	}
	for _, in := range instances(st) {
		if pid, ok := running(st, in); ok {
			add(pid)
		}
		if child := readPid(in.childPid()); isRealServer(child) {
			add(child)
		}
	}
	for _, pid := range allPids() {
		exe := exeOf(pid)
		switch exe {
		case nsSlapd:
			add(pid)
		case slapdBin, ns389Bin:
			for _, arg := range cmdlineOf(pid) {
				if under(arg, root) || contains(names, arg) {
					add(pid)
					break
				}
			}
		}
	}
	if len(victims) > 0 {
		fmt.Fprintf(log, "directory: stopping leftover directory processes %v\n", victims)
		killAll(syscall.SIGTERM, victims...)
		if !waitGone(20*time.Second, victims...) {
			killAll(syscall.SIGKILL, victims...)
			waitGone(5*time.Second, victims...)
		}
	}
	var firstErr error
	if st.Scenario.DSBackend == "389" {
		// The container-mode pid file and socket outlive the instance.
		if err := clearStaleContainerRun(); err != nil {
			firstErr = err
		}
	}
	for _, d := range st.DirectoryDirs {
		if err := os.RemoveAll(d); err != nil && firstErr == nil {
			firstErr = fmt.Errorf("remove directory dir: %w", err)
		}
	}
	return firstErr
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
