package installer

import (
	"bytes"
	"io"
	"strings"
)

// secretRedactor writes to w with every secret replaced by "********". It
// holds back output that may be the start of a secret split across writes.
type secretRedactor struct {
	w       io.Writer
	secrets []string
	buf     []byte
	err     error
}

func newSecretRedactor(w io.Writer, secrets []string) *secretRedactor {
	return &secretRedactor{w: w, secrets: secrets}
}

// Write never fails; the first error of w is kept for flush.
func (r *secretRedactor) Write(p []byte) (int, error) {
	r.buf = append(r.buf, p...)
	r.emit(false)
	return len(p), nil
}

// flush writes what was held back and returns the first write error.
func (r *secretRedactor) flush() error {
	r.emit(true)
	return r.err
}

// emit writes the buffer with the secrets masked, up to the first place
// that may begin a secret not complete yet (all: write everything).
func (r *secretRedactor) emit(all bool) {
	var out []byte
	i := 0
scan:
	for i < len(r.buf) {
		rest := r.buf[i:]
		if !all {
			// What follows may still complete a (longer) secret.
			for _, sec := range r.secrets {
				if len(rest) < len(sec) && strings.HasPrefix(sec, string(rest)) {
					break scan
				}
			}
		}
		for _, sec := range r.secrets {
			if bytes.HasPrefix(rest, []byte(sec)) {
				out = append(out, secretMask...)
				i += len(sec)
				continue scan
			}
		}
		out = append(out, r.buf[i])
		i++
	}
	r.buf = append(r.buf[:0], r.buf[i:]...)
	if len(out) > 0 && r.err == nil {
		_, r.err = r.w.Write(out)
	}
}
