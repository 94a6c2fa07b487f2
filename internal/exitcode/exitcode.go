// Package exitcode defines msguard's process exit codes (contract.md) and
// an error type that carries one, so any layer can say how the process
// must end while main maps them in one place.
package exitcode

import (
	"errors"
	"fmt"
)

// The exit codes of contract.md; the same for every command.
const (
	OK            = 0   // ready / healthy / done (warnings allowed unless --fail-on-warn)
	Runtime       = 1   // internal or runtime error (a collector crashed, I/O failure)
	Usage         = 2   // usage error, bad input file, policy that does not compile
	NotReady      = 3   // not ready / unhealthy: at least one unwaived deny
	WarnOnly      = 4   // only warnings, and --fail-on-warn was given
	BackedOut     = 5   // remediate failed and the backout completed cleanly
	BackoutFailed = 6   // remediate failed and the backout failed too
	Interrupted   = 130 // interrupted (SIGINT/SIGTERM)
)

// Table is the exit-code table printed by --help, in contract order.
const Table = `Exit codes:
  0    ready / healthy / done (warnings allowed unless --fail-on-warn)
  1    internal or runtime error (a collector crashed, I/O failure)
  2    usage error, bad input file, policy that does not compile
  3    not ready / unhealthy: at least one unwaived deny
  4    only warnings, and --fail-on-warn was given
  5    remediate failed and the backout completed cleanly (host back on the old version)
  6    remediate failed and the backout failed too: operator action needed, see the journal
  130  interrupted (SIGINT/SIGTERM)`

// Error is an error that decides the process exit code.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// New returns an error with an exit code and a formatted message.
func New(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}

// Wrap attaches an exit code to err (nil stays nil).
func Wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Usagef is shorthand for New(Usage, ...): bad flags or a bad input file.
func Usagef(format string, args ...any) error { return New(Usage, format, args...) }

// Of returns the exit code an error asks for: its Code if it carries one,
// Runtime for any other non-nil error, OK for nil.
func Of(err error) int {
	if err == nil {
		return OK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Runtime
}
