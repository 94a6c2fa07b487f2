// Package parse reads the file formats and banners of an iPlanet Messaging
// Server 5.x host: Netscape .inf files, msg.conf, adm.conf, magnus.conf,
// imta.cnf, dispatcher.cnf, mail.log_current records, version strings and
// queue file names. Every function is pure: it reads what it is given and
// touches nothing else. Formats follow shared/layout.md and are
// parsed tolerantly (CRLF, comments, blank lines, spacing around '=').
package parse

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// LineError is a malformed line of a configuration file. It names the
// line, never its content, so that a secret on a broken line cannot leak
// into an error message.
type LineError struct {
	Line int    // 1-based line number
	Msg  string // what is wrong with it
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// eachLine calls fn for every line of r, without its line ending (LF or
// CRLF) and without a leading UTF-8 byte order mark. Lines of any length
// are accepted.
func eachLine(r io.Reader, fn func(n int, line string)) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		line, err := br.ReadString('\n')
		if len(line) > 0 || err == nil {
			line = strings.TrimSuffix(line, "\n")
			line = strings.TrimSuffix(line, "\r")
			if n == 1 {
				line = strings.TrimPrefix(line, "\ufeff")
			}
			fn(n, line)
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read line %d: %w", n, err)
		}
	}
}

// firstErr keeps the first malformed line of a file while parsing goes on.
type firstErr struct{ err error }

func (f *firstErr) set(n int, msg string) {
	if f.err == nil {
		f.err = &LineError{Line: n, Msg: msg}
	}
}

// result joins a read error and the first malformed line.
func (f *firstErr) result(readErr error) error {
	if readErr != nil {
		return readErr
	}
	return f.err
}
