package remediate

import (
	"bufio"
	"fmt"
	"github.com/msguard/msguard/internal/runstate"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/msguard/msguard/internal/exitcode"
)

// lockTestHelperEnv makes the test binary act as the lock holder of
// TestLockHeldByOtherProcess: it names the state directory, and
// lockTestRootEnv the server root.
const (
	lockTestHelperEnv = "MSGUARD_TEST_LOCK_HELPER"
	lockTestRootEnv   = "MSGUARD_TEST_LOCK_ROOT"
)

// TestLockHelperProcess is the child process of TestLockHeldByOtherProcess:
// it takes the lock, says so on stdout and waits until stdin closes or it
// is killed.
func TestLockHelperProcess(t *testing.T) {
	stateDir, root := os.Getenv(lockTestHelperEnv), os.Getenv(lockTestRootEnv)
	if stateDir == "" {
		t.Skip("helper process only")
	}
	l, err := Lock(stateDir, root)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(3)
	}
	fmt.Println("locked")
	bufio.NewReader(os.Stdin).ReadString('\n')
	l.Unlock()
	os.Exit(0)
}

func TestLockHeldByOtherProcess(t *testing.T) {
	stateDir, root := t.TempDir(), "/usr/iplanet/server5"
	cmd := exec.Command(os.Args[0], "-test.run=^TestLockHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), lockTestHelperEnv+"="+stateDir, lockTestRootEnv+"="+root)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("helper said %q, %v; want locked", line, err)
	}

	_, err = Lock(stateDir, root)
	want := fmt.Sprintf("another msguard run (pid %d) holds the lock for %s: wait for it or check that process", cmd.Process.Pid, root)
	if err == nil || err.Error() != want {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("Lock while held = %v; want %q", err, want)
	}
	if code := exitcode.Of(err); code != exitcode.Runtime {
		t.Errorf("exit code %d, want %d", code, exitcode.Runtime)
	}

	// A killed holder leaves its pid in the file but not the lock.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	l, err := Lock(stateDir, root)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	defer l.Unlock()
	if b, err := os.ReadFile(l.Path()); err != nil || string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
		t.Errorf("lock file holds %q, %v; want our pid", b, err)
	}
}

func TestLockSameProcess(t *testing.T) {
	stateDir, root := t.TempDir(), "/usr/iplanet/server5"
	l, err := Lock(stateDir, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Lock(stateDir, root); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("(pid %d)", os.Getpid())) {
		t.Fatalf("second Lock = %v; want an error naming pid %d", err, os.Getpid())
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if err := l.Unlock(); err != nil {
		t.Errorf("second Unlock: %v", err)
	}
	if b, err := os.ReadFile(l.Path()); err != nil || len(b) != 0 {
		t.Errorf("lock file after Unlock holds %q, %v; want it empty", b, err)
	}
	l2, err := Lock(stateDir, root)
	if err != nil {
		t.Fatalf("Lock after Unlock: %v", err)
	}
	l2.Unlock()
}

func TestLockPath(t *testing.T) {
	stateDir := t.TempDir()
	tests := []struct {
		name     string
		prepare  func(t *testing.T, lockPath string)
		root     string
		lockedAs string // a root locked beforehand ("" = none)
	}{
		{name: "fresh state dir", root: "/usr/iplanet/server5"},
		{name: "stale pid text", root: "/opt/server5", prepare: func(t *testing.T, p string) {
			if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte("999999\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{name: "other root locked", root: "/srv/server5", lockedAs: "/srv/server5b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := filepath.Join(filepath.Dir(runstate.Path(stateDir, tt.root)), "lock")
			if tt.prepare != nil {
				tt.prepare(t, want)
			}
			if tt.lockedAs != "" {
				other, err := Lock(stateDir, tt.lockedAs)
				if err != nil {
					t.Fatal(err)
				}
				defer other.Unlock()
			}
			l, err := Lock(stateDir, tt.root)
			if err != nil {
				t.Fatalf("Lock: %v", err)
			}
			defer l.Unlock()
			if l.Path() != want {
				t.Errorf("Path() = %q, want %q", l.Path(), want)
			}
			if RootStateDir(stateDir, tt.root) != filepath.Dir(want) {
				t.Errorf("RootStateDir = %q, want %q", RootStateDir(stateDir, tt.root), filepath.Dir(want))
			}
			fi, err := os.Stat(want)
			if err != nil || fi.Mode() != 0o600 {
				t.Errorf("lock file mode %v, %v; want 0600", fi.Mode(), err)
			}
			if b, _ := os.ReadFile(want); string(b) != fmt.Sprintf("%d\n", os.Getpid()) {
				t.Errorf("lock file holds %q, want our pid", b)
			}
		})
	}
}
