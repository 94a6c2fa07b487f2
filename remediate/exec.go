package remediate

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// runScript runs one of the install's own scripts (or a system command)
// with a timeout and returns its combined output. A non-zero exit is an
// error that quotes the last lines of the output.
func runScript(ctx context.Context, timeout time.Duration, name string, args ...string) (string, error) {
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(cctx, name, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	text := out.String()
	if cctx.Err() == context.DeadlineExceeded {
		return text, fmt.Errorf("%s timed out after %s: %s", commandLine(name, args), timeout, tail(text, 3))
	}
	if err != nil {
		return text, fmt.Errorf("%s: %w: %s", commandLine(name, args), err, tail(text, 3))
	}
	return text, nil
}

func commandLine(name string, args []string) string {
	return strings.TrimSpace(name + " " + strings.Join(args, " "))
}

// tail returns the last n non-empty lines of s, joined by " | ".
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}
