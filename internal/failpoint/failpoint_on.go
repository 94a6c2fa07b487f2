//go:build failpoints

package failpoint

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var (
	mu   sync.Mutex
	hits = map[string]int{}
)

// Enabled reports whether failpoints are compiled in (build tag
// "failpoints"); in this build they are.
func Enabled() bool { return true }

// Hit counts a pass through the failpoint name and SIGKILLs the process
// when MSGUARD_FAILPOINT selects this pass: "name" selects the first,
// "name#N" the N-th. The variable is read at every hit.
func Hit(name string) {
	want, nth, ok := parseSpec(os.Getenv(EnvVar))
	if !ok || want != name {
		return
	}
	mu.Lock()
	hits[name]++
	n := hits[name]
	mu.Unlock()
	if n != nth {
		return
	}
	// Unbuffered, so a test can tell which failpoint fired.
	os.Stderr.WriteString("failpoint " + name + "#" + strconv.Itoa(n) + ": killing process\n")
	syscall.Kill(os.Getpid(), syscall.SIGKILL)
	// SIGKILL cannot be caught; wait for it to be delivered.
	select {}
}

// parseSpec splits a MSGUARD_FAILPOINT value into the failpoint name and
// the hit that kills (1 without a "#N" suffix). ok is false for an empty
// value or a suffix that is not a positive number.
func parseSpec(spec string) (name string, nth int, ok bool) {
	if spec == "" {
		return "", 0, false
	}
	i := strings.LastIndexByte(spec, '#')
	if i < 0 {
		return spec, 1, true
	}
	n, err := strconv.Atoi(spec[i+1:])
	if err != nil || n < 1 || i == 0 {
		return "", 0, false
	}
	return spec[:i], n, true
}
