// Command msguard makes the iPlanet Messaging Server 5.x → 5.2 upgrade
// safe: it checks readiness before the window, carries out the vendor's
// runbook with a verified way back, and audits health afterwards.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/msguard/msguard/internal/exitcode"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one msguard command line and returns the process exit code.
// SIGINT and SIGTERM cancel the context; a command that ends because of
// them exits 130.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go func() {
		select {
		case s := <-sigs:
			cancel(&exitcode.Error{Code: exitcode.Interrupted, Err: fmt.Errorf("interrupted by %v", s)})
		case <-ctx.Done():
		}
	}()

	app := newApp(stdin, stdout, stderr)
	root := app.rootCmd()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil && strings.HasPrefix(err.Error(), "unknown command") {
		err = exitcode.Wrap(exitcode.Usage, err)
	}
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		if err == nil || exitcode.Of(err) == exitcode.Runtime {
			err = cause
		}
	}
	code := exitcode.Of(err)
	if err != nil && !errors.Is(err, errSilent) {
		fmt.Fprintf(stderr, "msguard: %v\n", err)
	}
	return code
}

// errSilent marks an exit code whose explanation was already printed (a
// report with a not-ready verdict).
var errSilent = errors.New("already reported")
