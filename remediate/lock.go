package remediate

import (
	"errors"
	"fmt"
	"github.com/msguard/msguard/internal/runstate"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"github.com/msguard/msguard/internal/exitcode"
)

// RootLock is the one-run-per-server-root lock: an flock on
// <stateDir>/roots/<key>/lock, next to the root's state.json. The kernel
// drops it when the holder dies, so a killed run never blocks the next
// one. The file is opened close-on-exec, so processes that msguard starts
// (start-msg, setup) do not inherit it.
type RootLock struct {
	mu   sync.Mutex
	path string
	f    *os.File
}

// RootStateDir is the directory that holds the lock, state.json and the
// journals of the server root root: <stateDir>/roots/<key>, with the same
// key as runstate.Path.
func RootStateDir(stateDir, root string) string {
	return filepath.Dir(runstate.Path(stateDir, root))
}

// Lock takes the lock for root (an absolute, cleaned server root) without
// waiting, and writes this process's pid into the lock file. When another
// process holds it, the error names that process and asks for exit code
// exitcode.Runtime.
func Lock(stateDir, root string) (*RootLock, error) {
	dir := RootStateDir(stateDir, root)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create state directory %s: %w", dir, err)
	}
	path := filepath.Join(dir, "lock")
	// No O_TRUNC: while another process holds the lock, its pid stays.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := flockNB(f); err != nil {
		pid := readLockPid(f)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, exitcode.New(exitcode.Runtime,
				"another msguard run (pid %s) holds the lock for %s: wait for it or check that process", pid, root)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := writeLockPid(f); err != nil {
		f.Close() // closing drops the flock
		return nil, fmt.Errorf("write pid to lock %s: %w", path, err)
	}
	return &RootLock{path: path, f: f}, nil
}

// flockNB takes an exclusive flock on f without blocking, retrying when a
// signal interrupts the call.
func flockNB(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err != syscall.EINTR {
			return err
		}
	}
}

// readLockPid returns the pid text of the lock's holder, or "unknown" when
// the file holds none (the holder has not written it yet).
func readLockPid(f *os.File) string {
	b, err := io.ReadAll(io.NewSectionReader(f, 0, 32))
	if err != nil {
		return "unknown"
	}
	s := strings.TrimSpace(string(b))
	if n, err := strconv.Atoi(s); err != nil || n <= 0 {
		return "unknown"
	}
	return s
}

// writeLockPid replaces the lock file's content with this process's pid.
func writeLockPid(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0); err != nil {
		return err
	}
	return f.Sync()
}

// Path returns the lock file's path.
func (l *RootLock) Path() string { return l.path }

// Unlock clears the pid and releases the lock. The file stays: removing
// it would let two processes lock different files of the same name.
// Unlocking twice is harmless.
func (l *RootLock) Unlock() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	// The pid text is only a hint, so a failure to clear it is not an
	// error; closing the file releases the flock.
	_ = f.Truncate(0)
	if err := f.Close(); err != nil {
		return fmt.Errorf("unlock %s: %w", l.path, err)
	}
	return nil
}
