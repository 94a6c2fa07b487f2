// Package simtest is the test harness for msguard-sim: it builds the
// binaries once per test process and creates simulated hosts in temporary
// server roots that are destroyed when the test ends.
package simtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
	_ "github.com/msguard/msguard/sim/all"
	"github.com/msguard/msguard/sim/procs"
)

type built struct {
	once sync.Once
	path string
	err  error
}

var (
	simBin     built
	msguardBin built
)

// build compiles pkg once per test process into a fresh temp dir.
func (b *built) get(t testing.TB, pkg, name string) string {
	t.Helper()
	b.once.Do(func() {
		dir, err := os.MkdirTemp("", "simtest-bin-")
		if err != nil {
			b.err = err
			return
		}
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", "build", "-o", out, pkg)
		var buf bytes.Buffer
		cmd.Stdout, cmd.Stderr = &buf, &buf
		if err := cmd.Run(); err != nil {
			b.err = fmt.Errorf("go build %s: %w\n%s", pkg, err, buf.String())
			return
		}
		b.path = out
	})
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

// Binary returns the msguard-sim binary, built once per test process.
func Binary(t testing.TB) string {
	return simBin.get(t, "github.com/msguard/msguard/cmd/msguard-sim", "msguard-sim")
}

// MsguardBinary returns the msguard binary, built once per test process.
func MsguardBinary(t testing.TB) string {
	return msguardBin.get(t, "github.com/msguard/msguard/cmd/msguard", "msguard")
}

// Host is a simulated host created for one test.
type Host struct {
	State *sim.State
	Paths sim.Paths
	Root  string
}

// logWriter sends log lines to t.Log.
type logWriter struct{ t testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Log is an io.Writer that logs to t.
func Log(t testing.TB) io.Writer { return logWriter{t} }

// New creates a host from the default scenario, edited by edit (may be
// nil), in a fresh server root under t.TempDir(). The host is destroyed
// when the test ends, whether it passed or not.
func New(t *testing.T, edit func(*sim.Scenario)) *Host {
	t.Helper()
	bin := Binary(t)
	sc := sim.Scenario{Root: filepath.Join(t.TempDir(), "server5")}
	if edit != nil {
		edit(&sc)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := procs.Destroy(ctx, sc.Root, Log(t)); err != nil {
			t.Errorf("destroy %s: %v", sc.Root, err)
		}
	})
	st, err := sim.Create(ctx, sc, bin, Log(t))
	if err != nil {
		t.Fatalf("create simulated host: %v", err)
	}
	return &Host{State: st, Paths: st.Paths(), Root: st.Scenario.Root}
}

// Reload rereads the host's state (installers change it).
func (h *Host) Reload(t testing.TB) *sim.State {
	t.Helper()
	st, err := sim.LoadState(h.Root)
	if err != nil {
		t.Fatal(err)
	}
	h.State = st
	return st
}

// Start starts every service of the host.
func (h *Host) Start(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := procs.Start(ctx, h.Root, Log(t)); err != nil {
		t.Fatalf("start host: %v", err)
	}
}

// Stop stops every service of the host.
func (h *Host) Stop(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := procs.Stop(ctx, h.Root, Log(t)); err != nil {
		t.Fatalf("stop host: %v", err)
	}
}

// Run runs a script of the root (a path relative to it, such as
// "slapd-budgie/start-slapd") and returns its stdout; it fails the test
// when the script fails.
func (h *Host) Run(t testing.TB, script string, args ...string) string {
	t.Helper()
	out, err := RunScript(h.Root, script, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// RunScript runs ROOT/script with args and returns its stdout; the error
// carries stderr.
func RunScript(root, script string, args ...string) (string, error) {
	path := script
	if !filepath.IsAbs(path) {
		path = filepath.Join(root, script)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("run %s %s: %w\nstdout: %s\nstderr: %s", script,
			strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// DMPasswordFile writes the Directory Manager password to a 0600 file
// (for ldapsearch -y) and returns its path.
func (h *Host) DMPasswordFile(t testing.TB) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "dm.pw")
	if err := os.WriteFile(p, []byte(h.State.Scenario.Secrets.DirectoryManager), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
