// Package secret reads passwords the way contract.md allows: from a file
// that only its owner can read, from an environment variable, or from a
// prompt on the terminal. A password is never accepted as a flag value.
package secret

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/msguard/msguard/internal/exitcode"
	"golang.org/x/term"
)

// Source says where one password comes from.
type Source struct {
	// What names the password in messages: "directory manager password".
	What string
	// File is the --*-password-file flag value ("" = not given).
	File string
	// FileFlag is that flag's name, for messages.
	FileFlag string
	// Env is the environment variable to read when no file is given.
	Env string
	// Prompt allows asking on the terminal when neither is set.
	Prompt bool
	// TTY is the terminal to prompt on (nil = /dev/tty when stdin is a terminal).
	TTY *os.File
}

// ErrNone is returned when no source supplied a password.
var ErrNone = errors.New("no password given")

// Read returns the password. A file readable by group or others is a
// usage error (exit 2) that names the file and the fix.
func (s Source) Read() (string, error) {
	if s.File != "" {
		return ReadFile(s.File)
	}
	if s.Env != "" {
		if v, ok := os.LookupEnv(s.Env); ok && v != "" {
			return v, nil
		}
	}
	if s.Prompt {
		tty := s.TTY
		if tty == nil && term.IsTerminal(int(os.Stdin.Fd())) {
			tty = os.Stdin
		}
		if tty != nil {
			fmt.Fprintf(os.Stderr, "%s: ", s.What)
			b, err := term.ReadPassword(int(tty.Fd()))
			fmt.Fprintln(os.Stderr)
			if err != nil {
				return "", fmt.Errorf("read %s from the terminal: %w", s.What, err)
			}
			return string(b), nil
		}
	}
	hint := ""
	if s.FileFlag != "" {
		hint = "--" + s.FileFlag
	}
	if s.Env != "" {
		if hint != "" {
			hint += " or "
		}
		hint += s.Env
	}
	return "", fmt.Errorf("%w for the %s: use %s", ErrNone, s.What, hint)
}

// ReadFile reads a password file: it must exist, be a regular file and not
// be readable by group or others; one trailing newline (LF or CRLF) is
// stripped.
func ReadFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", exitcode.Usagef("password file %s: %v", path, unwrapPath(err))
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", exitcode.Usagef("password file %s: %v", path, err)
	}
	if !fi.Mode().IsRegular() {
		return "", exitcode.Usagef("password file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", exitcode.Usagef("password file %s is readable by others (mode %04o): run chmod 600 %s", path, perm, path)
	}
	b, err := io.ReadAll(bufio.NewReader(io.LimitReader(f, 64<<10)))
	if err != nil {
		return "", exitcode.Usagef("password file %s: %v", path, err)
	}
	pw := strings.TrimSuffix(string(b), "\n")
	pw = strings.TrimSuffix(pw, "\r")
	if pw == "" {
		return "", exitcode.Usagef("password file %s is empty", path)
	}
	return pw, nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
