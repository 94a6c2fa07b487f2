package ldapexport

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/ldapdial"
)

// ldifPageSize is the paged-results page size of an export, as
// ldapsearch -E pr=1000 asks.
const ldifPageSize = 1000

// ldifCountPageSize is the page size of the count that checks an export.
// A server works out a search's candidates again for every page, which
// costs it about a third of a 1.1 search in pages of 1000; the count
// holds no entries, so its pages can be larger (see Count).
const ldifCountPageSize = 10000

// ldifFoldWidth is the longest LDIF line written; longer ones are folded
// (RFC 2849), as ldapsearch does.
const ldifFoldWidth = 76

// Conn says how to reach and bind to a directory server.
type Conn struct {
	URL      string // ldap://host:port, ldaps://host:port or ldapi://path
	BindDN   string // empty: anonymous
	Password string // never logged nor put in an error
	Timeout  time.Duration
	CA       string // PEM file of CAs to trust for ldaps:// or StartTLS
	StartTLS bool
	// InsecureSkipVerify accepts any server certificate.
	InsecureSkipVerify bool
}

// String describes the connection without its password.
func (c Conn) String() string {
	if c.BindDN == "" {
		return c.URL + " (anonymous)"
	}
	return c.URL + " as " + c.BindDN
}

// LogValue keeps the password out of structured logs.
func (c Conn) LogValue() slog.Value {
	return slog.GroupValue(slog.String("url", c.URL), slog.String("bind_dn", c.BindDN),
		slog.Bool("starttls", c.StartTLS))
}

// target is where and how ldapdial connects for c.
func (c Conn) target() ldapdial.Target {
	return ldapdial.Target{URL: c.URL, StartTLS: c.StartTLS, CA: c.CA, InsecureSkipVerify: c.InsecureSkipVerify, Timeout: c.Timeout}
}

// timeout bounds each request: Timeout, else ldapdial's default.
func (c Conn) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return ldapdial.DefaultTimeout
}

// Dial connects with ldapdial (ldaps:// or StartTLS as c asks, never a
// plaintext fallback) and binds as c.BindDN (anonymous without one). The
// connection closes when ctx ends.
func (c Conn) Dial(ctx context.Context) (*ldap.Conn, error) {
	t := c.target()
	conn, err := ldapdial.Dial(ctx, t)
	if err != nil {
		return nil, err
	}
	if c.BindDN != "" {
		if err := ldapdial.Bind(ctx, conn, t, c.BindDN, c.Password); err != nil {
			conn.Close()
			return nil, err
		}
	}
	return conn, nil
}

// Export is msguard's ldapsearch (runbook backup.ldapsearch): a
// subtree search of base with filter, all user attributes, read with
// paged results and streamed to out as LDIF (RFC 2849: a "version: 1"
// header, base64 for values that are not SAFE-STRINGs, lines folded at 76
// columns, a blank line after each entry). out is created 0600 and
// appears only once complete. The number of entries written is checked
// against a second paged search of the same base and filter, run at the
// same time on its own connection, that only counts DNs; a mismatch (the
// directory changed underneath) is an error.
//
// The searches run on ldapStream connections, which decode responses in
// place (see ldapstream.go): nothing is allocated per entry or value.
func Export(ctx context.Context, c Conn, base, filter, out string) (int64, error) {
	conn, err := c.dialStream(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.close()

	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")
	if err != nil {
		return 0, fmt.Errorf("create ldif export: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return 0, fmt.Errorf("chmod ldif export: %w", err)
	}
	// The count runs at the same time on a second connection: its own
	// round trips then cost no time.
	type counted struct {
		n   int64
		err error
	}
	countc := make(chan counted, 1)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		n, err := Count(cctx, c, base, filter)
		countc <- counted{n, err}
	}()

	lw := newLDIFWriter(f)
	lw.raw("version: 1\n\n")
	n, err := conn.pagedSearch(ctx, base, filter, nil, ldifPageSize, func(e *rawEntry) error {
		lw.entry(e)
		return lw.err
	})
	if err == nil {
		err = lw.flush()
	}
	if err != nil {
		f.Close()
		return n, fmt.Errorf("export %s %s from %s: %w", base, filter, c.URL, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return n, fmt.Errorf("fsync ldif export %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return n, fmt.Errorf("close ldif export %s: %w", tmp, err)
	}
	count := <-countc
	if count.err != nil {
		return n, count.err
	}
	if count.n != n {
		return n, fmt.Errorf("export %s %s from %s: wrote %d entries but a count of the same search found %d", base, filter, c.URL, n, count.n)
	}
	if err := os.Rename(tmp, out); err != nil {
		return n, fmt.Errorf("rename ldif export: %w", err)
	}
	return n, atomicfile.SyncDir(filepath.Dir(out))
}

// Count counts the entries of a search on a connection of its own,
// asking for no attributes ("1.1"), in pages of ldifCountPageSize. A
// server that limits the size of each page (389's nsslapd-pagedsizelimit)
// refuses those: the count is then made again in pages of ldifPageSize,
// which the export itself got through.
func Count(ctx context.Context, c Conn, base, filter string) (int64, error) {
	conn, err := c.dialStream(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.close()
	count := func(pageSize int) (int64, error) {
		return conn.pagedSearch(ctx, base, filter, []string{"1.1"}, pageSize, func(*rawEntry) error { return nil })
	}
	n, err := count(ldifCountPageSize)
	if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) || ldap.IsErrorWithCode(err, ldap.LDAPResultAdminLimitExceeded) {
		n, err = count(ldifPageSize)
	}
	if err != nil {
		return n, fmt.Errorf("count %s %s on %s: %w", base, filter, c.URL, err)
	}
	return n, nil
}

// ldifWriteChunk is how much LDIF is buffered before a write to the file.
const ldifWriteChunk = 256 << 10

// ldifWriter writes LDIF records; the first write error sticks in err.
type ldifWriter struct {
	w   io.Writer
	out []byte // LDIF not yet written
	buf []byte // a line being folded
	err error
}

func newLDIFWriter(w io.Writer) *ldifWriter {
	return &ldifWriter{w: w, out: make([]byte, 0, 2*ldifWriteChunk)}
}

func (lw *ldifWriter) raw(s string) {
	lw.out = append(lw.out, s...)
	lw.spill()
}

// spill writes the buffered LDIF once there is a chunk of it.
func (lw *ldifWriter) spill() {
	if len(lw.out) >= ldifWriteChunk {
		lw.write()
	}
}

func (lw *ldifWriter) write() {
	if lw.err == nil && len(lw.out) > 0 {
		_, lw.err = lw.w.Write(lw.out)
	}
	lw.out = lw.out[:0]
}

var ldifDN = []byte("dn")

// entry writes one record and the blank line after it.
func (lw *ldifWriter) entry(e *rawEntry) {
	lw.lineBytes(ldifDN, e.dn)
	for _, a := range e.attrs {
		for _, v := range e.vals[a.first:a.end] {
			lw.lineBytes(a.name, v)
		}
	}
	lw.out = append(lw.out, '\n')
	lw.spill()
}

// line writes "attr: value", or "attr:: base64" when value is not a
// SAFE-STRING, folded at ldifFoldWidth columns.
func (lw *ldifWriter) line(attr, value string) {
	lw.lineBytes([]byte(attr), []byte(value))
	lw.spill()
}

func (lw *ldifWriter) lineBytes(attr, value []byte) {
	safe := ldifSafe(value)
	width := len(attr) + 1 // "attr:"
	switch {
	case !safe:
		width += 2 + base64.StdEncoding.EncodedLen(len(value))
	case len(value) > 0:
		width += 1 + len(value)
	}
	if width <= ldifFoldWidth {
		// The common case: one line, straight into the output.
		lw.out = appendLDIFLine(lw.out, attr, value, safe)
		lw.out = append(lw.out, '\n')
		return
	}
	b := appendLDIFLine(lw.buf[:0], attr, value, safe)
	lw.buf = b
	// Every byte is ASCII here (anything else went to base64), so
	// folding by bytes never splits a character.
	out := append(lw.out, b[:ldifFoldWidth]...)
	for b = b[ldifFoldWidth:]; len(b) > 0; {
		k := min(ldifFoldWidth-1, len(b))
		out = append(append(out, '\n', ' '), b[:k]...)
		b = b[k:]
	}
	lw.out = append(out, '\n')
}

// appendLDIFLine appends "attr: value" or "attr:: base64", unfolded.
func appendLDIFLine(b, attr, value []byte, safe bool) []byte {
	b = append(b, attr...)
	if !safe {
		b = append(b, ":: "...)
		return base64.StdEncoding.AppendEncode(b, value)
	}
	b = append(b, ':')
	if len(value) > 0 {
		b = append(b, ' ')
		b = append(b, value...)
	}
	return b
}

func (lw *ldifWriter) flush() error {
	lw.write()
	return lw.err
}

// ldifSafe reports whether v is an RFC 2849 SAFE-STRING that needs no
// base64: ASCII without NUL, LF or CR, not starting with a space, colon or
// less-than, and (as the RFC recommends) not ending with a space.
func ldifSafe(v []byte) bool {
	if len(v) == 0 {
		return true
	}
	switch v[0] {
	case ' ', ':', '<':
		return false
	}
	if v[len(v)-1] == ' ' {
		return false
	}
	for _, c := range v {
		if c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}

// IsNoSuchObject reports whether err says the search base does not exist.
func IsNoSuchObject(err error) bool {
	if err == nil {
		return false
	}
	return ldap.IsErrorWithCode(errors.Unwrap(err), ldap.LDAPResultNoSuchObject) ||
		ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || strings.Contains(err.Error(), "No Such Object")
}
