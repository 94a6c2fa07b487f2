//go:build failpoints

package failpoint

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		spec string
		name string
		nth  int
		ok   bool
	}{
		{spec: "", ok: false},
		{spec: "journal.before-write:done:backup.queue", name: "journal.before-write:done:backup.queue", nth: 1, ok: true},
		{spec: "a#3", name: "a", nth: 3, ok: true},
		{spec: "a#b#2", name: "a#b", nth: 2, ok: true},
		{spec: "a#0", ok: false},
		{spec: "a#-1", ok: false},
		{spec: "a#x", ok: false},
		{spec: "#2", ok: false},
	}
	for _, tt := range tests {
		name, nth, ok := parseSpec(tt.spec)
		if name != tt.name || nth != tt.nth || ok != tt.ok {
			t.Errorf("parseSpec(%q) = %q, %d, %v; want %q, %d, %v", tt.spec, name, nth, ok, tt.name, tt.nth, tt.ok)
		}
	}
}

// helperEnv makes the test binary act as TestHelperHits' child.
const helperEnv = "MSGUARD_TEST_FAILPOINT_HELPER"

// TestHelperHits is the child process of TestFailpointKills: it passes
// failpoint "a" five times and "b" once, printing each pass before it.
func TestHelperHits(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		t.Skip("helper process only")
	}
	for i := 1; i <= 5; i++ {
		os.Stdout.WriteString("a" + strconv.Itoa(i) + "\n")
		Hit("a")
	}
	os.Stdout.WriteString("b1\n")
	Hit("b")
	os.Stdout.WriteString("end\n")
}

func TestFailpointKills(t *testing.T) {
	if !Enabled() {
		t.Fatal("Enabled() = false in a build with the failpoints tag")
	}
	tests := []struct {
		spec     string
		killed   bool
		lastLine string // last line printed before the kill (or "end")
	}{
		{spec: "a", killed: true, lastLine: "a1"},
		{spec: "a#1", killed: true, lastLine: "a1"},
		{spec: "a#4", killed: true, lastLine: "a4"},
		{spec: "a#6", killed: false, lastLine: "end"},
		{spec: "b", killed: true, lastLine: "b1"},
		{spec: "c", killed: false, lastLine: "end"},
		{spec: "", killed: false, lastLine: "end"},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHits$", "-test.count=1")
			cmd.Env = append(os.Environ(), helperEnv+"=1", EnvVar+"="+tt.spec)
			var stderr strings.Builder
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			var lines []string
			sc := bufio.NewScanner(strings.NewReader(string(out)))
			for sc.Scan() {
				if l := sc.Text(); l != "" && !strings.HasPrefix(l, "PASS") && !strings.HasPrefix(l, "ok") {
					lines = append(lines, l)
				}
			}
			last := ""
			if len(lines) > 0 {
				last = lines[len(lines)-1]
			}
			var ee *exec.ExitError
			killed := errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL
			if killed != tt.killed || last != tt.lastLine {
				t.Fatalf("child: err %v, killed %v, last line %q; want killed %v after %q\nstdout:\n%s\nstderr:\n%s",
					err, killed, last, tt.killed, tt.lastLine, out, stderr.String())
			}
			if !killed && err != nil {
				t.Fatalf("child failed: %v\n%s", err, stderr.String())
			}
			if killed && !strings.Contains(stderr.String(), "failpoint ") {
				t.Errorf("stderr %q does not name the failpoint", stderr.String())
			}
		})
	}
}
