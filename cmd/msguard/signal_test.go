package main

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msguard/msguard/internal/exitcode"
)

// TestInterruptExits130 interrupts a collect that waits on a directory
// server that accepts connections and never answers: msguard must stop at
// once with exit 130, not wait for its 10-minute timeout.
func TestInterruptExits130(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // hold it open, answer nothing
		}
	}()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "msg-budgie"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MSGUARD_BIND_PASSWORD", "pw")
	go func() {
		time.Sleep(700 * time.Millisecond)
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}()
	var stdout, stderr bytes.Buffer
	code := run([]string{"collect", "--server-root", root, "--ldap-url", "ldap://" + l.Addr().String(),
		"--timeout", "10m", "--state-dir", t.TempDir(), "-q"}, strings.NewReader(""), &stdout, &stderr)
	if code != exitcode.Interrupted {
		t.Fatalf("exit %d; want %d (stderr: %s)", code, exitcode.Interrupted, stderr.String())
	}
	if !strings.Contains(stderr.String(), "interrupted") {
		t.Errorf("stderr %q does not say it was interrupted", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("an interrupted collect wrote a snapshot: %.80s", stdout.String())
	}
}
