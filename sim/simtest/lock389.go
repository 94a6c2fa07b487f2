package simtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Lock389Path is the machine-wide lock that tests running a real 389
// Directory Server hold: in container mode (no systemd) every 389 instance
// shares /data/run (its pid file and LDAPI socket), so only one may run on
// a machine at a time, whichever test binary or package starts it.
const Lock389Path = "/run/lock/msguard-389.lock"

// lock389Wait is how long Lock389 waits for another test's instance.
var lock389Wait = 10 * time.Minute

// Lock389 takes the machine-wide 389 lock (an exclusive flock on
// Lock389Path), waiting up to ten minutes while another test holds it, and
// releases it when t ends. Call it before creating the 389 instance, so
// that the release, registered first, runs after the instance's teardown.
// A lock held by a process that died is free again: the kernel drops it
// with the process's descriptors.
func Lock389(t testing.TB) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(Lock389Path), 0o755); err != nil {
		t.Fatalf("389 lock: %v", err)
	}
	f, err := os.OpenFile(Lock389Path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatalf("389 lock: %v", err)
	}
	start := time.Now()
	logged := false
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			t.Fatalf("389 lock %s: %v", Lock389Path, err)
		}
		if time.Since(start) > lock389Wait {
			holder := lockHolder(Lock389Path)
			f.Close()
			t.Fatalf("389 lock %s: still held by %s after %v: only one 389 Directory Server may run on this machine (container mode shares /data/run)",
				Lock389Path, holder, lock389Wait)
		}
		if !logged {
			t.Logf("waiting for the 389 lock %s (held by %s): one 389 instance per machine", Lock389Path, lockHolder(Lock389Path))
			logged = true
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Who holds it, for the message of a test that waits.
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(fmt.Sprintf("pid %d %s\n", os.Getpid(), t.Name())), 0)
	}
	if logged {
		t.Logf("got the 389 lock after %v", time.Since(start).Round(time.Second))
	}
	t.Cleanup(func() {
		_ = f.Truncate(0)
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	})
}

// lockHolder describes what the lock file says about its holder.
func lockHolder(path string) string {
	b, err := os.ReadFile(path)
	s := strings.TrimSpace(string(b))
	if err != nil || s == "" {
		return "another process"
	}
	if f := strings.Fields(s); len(f) > 1 && f[0] == "pid" {
		if pid, err := strconv.Atoi(f[1]); err == nil && syscall.Kill(pid, 0) != nil {
			return s + " (exited?)"
		}
	}
	return s
}
