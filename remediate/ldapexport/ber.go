package ldapexport

// BER framing of LDAP messages (RFC 4511 section 5.1): the lengths and
// elements a response is parsed from, the encoding of requests, and
// berStream, which cuts messages out of the bytes read.

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
)

// BER identifier octets of the ASN.1 types and LDAP protocol operations
// (RFC 4511) a search uses.
const (
	berBoolean     = 0x01
	berInteger     = 0x02
	berOctetString = 0x04
	berEnumerated  = 0x0a
	berSequence    = 0x30
	berSet         = 0x31

	ldapBindRequest       = 0x60 // [APPLICATION 0] constructed
	ldapBindResponse      = 0x61
	ldapUnbindRequest     = 0x42 // [APPLICATION 2] primitive
	ldapSearchRequest     = 0x63
	ldapSearchResultEntry = 0x64
	ldapSearchResultDone  = 0x65
	ldapSearchResultRef   = 0x73 // [APPLICATION 19]
	ldapExtendedResponse  = 0x78 // [APPLICATION 24]
	ldapIntermediateResp  = 0x79
	ldapControlsTag       = 0xa0 // [0] constructed, in LDAPMessage
	ldapSimpleAuthTag     = 0x80 // [0] primitive, in BindRequest

	ldapOIDPaging = "1.2.840.113556.1.4.319"
)

// ldapMaxMessage bounds one LDAP message read from a server; a longer one
// (a corrupt length, most likely) is an error.
const ldapMaxMessage = 256 << 20

// errLDAPMalformed is wrapped by every error about a response that is not
// valid LDAP.
var errLDAPMalformed = errors.New("malformed LDAP response")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errLDAPMalformed, fmt.Sprintf(format, args...))
}

// berLength decodes the definite-form length octets at the start of b and
// returns the length and how many octets encode it.
func berLength(b []byte) (n uint64, size int, err error) {
	if len(b) == 0 {
		return 0, 0, malformed("truncated length")
	}
	l := b[0]
	if l < 0x80 {
		return uint64(l), 1, nil
	}
	k := int(l & 0x7f)
	switch {
	case k == 0:
		return 0, 0, malformed("indefinite length (not allowed in LDAP)")
	case k > 8:
		return 0, 0, malformed("length of %d octets", k)
	case len(b) < 1+k:
		return 0, 0, malformed("truncated length")
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | uint64(c)
	}
	return n, 1 + k, nil
}

// berElem splits the first element off b: its identifier octet, its
// contents and what follows it.
func berElem(b []byte) (tag byte, content, rest []byte, err error) {
	if len(b) < 2 {
		return 0, nil, nil, malformed("truncated element")
	}
	tag = b[0]
	if tag&0x1f == 0x1f {
		return 0, nil, nil, malformed("multi-octet tag 0x%02x", tag)
	}
	n, size, err := berLength(b[1:])
	if err != nil {
		return 0, nil, nil, err
	}
	hdr := 1 + size
	if n > uint64(len(b)-hdr) {
		return 0, nil, nil, malformed("element of %d octets with %d left", n, len(b)-hdr)
	}
	end := hdr + int(n)
	return tag, b[hdr:end], b[end:], nil
}

// berExpect is berElem for an element that must have the given tag.
func berExpect(b []byte, want byte, what string) (content, rest []byte, err error) {
	tag, content, rest, err := berElem(b)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", what, err)
	}
	if tag != want {
		return nil, nil, malformed("%s has tag 0x%02x, want 0x%02x", what, tag, want)
	}
	return content, rest, nil
}

// berInt decodes the contents of an INTEGER or ENUMERATED.
func berInt(c []byte) (int64, error) {
	if len(c) == 0 || len(c) > 8 {
		return 0, malformed("integer of %d octets", len(c))
	}
	v := int64(int8(c[0]))
	for _, b := range c[1:] {
		v = v<<8 | int64(b)
	}
	return v, nil
}

// berAppendLength appends a definite-form length.
func berAppendLength(b []byte, n int) []byte {
	switch {
	case n < 0x80:
		return append(b, byte(n))
	case n <= 0xff:
		return append(b, 0x81, byte(n))
	case n <= 0xffff:
		return append(b, 0x82, byte(n>>8), byte(n))
	case n <= 0xffffff:
		return append(b, 0x83, byte(n>>16), byte(n>>8), byte(n))
	}
	return append(b, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// berAppend appends one element made of tag and the concatenated parts.
func berAppend(b []byte, tag byte, parts ...[]byte) []byte {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	b = berAppendLength(append(b, tag), n)
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// berAppendInt appends an INTEGER or ENUMERATED in its shortest form.
func berAppendInt(b []byte, tag byte, v int64) []byte {
	n := 1
	for n < 8 && (v>>(8*n-1) != 0 && v>>(8*n-1) != -1) {
		n++
	}
	b = append(b, tag, byte(n))
	for i := n - 1; i >= 0; i-- {
		b = append(b, byte(v>>(8*i)))
	}
	return b
}

// berStream frames LDAP messages out of a byte stream.
type berStream struct {
	r       *bufio.Reader
	pending int    // octets of the last message still in r's buffer
	scratch []byte // the last message when it did not fit in r's buffer
	max     int
}

func newBERStream(r io.Reader, size int) *berStream {
	return &berStream{r: bufio.NewReaderSize(r, size), max: ldapMaxMessage}
}

// eof turns a short read into the error to report.
func eof(err error) error {
	if err == nil || err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// next returns the contents of the next LDAPMessage SEQUENCE; they stay
// valid until the following call. A stream that ends between two
// messages returns io.EOF.
func (s *berStream) next() ([]byte, error) {
	if s.pending > 0 {
		s.r.Discard(s.pending)
		s.pending = 0
	}
	h, err := s.r.Peek(2)
	if len(h) < 2 {
		if len(h) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		return nil, eof(err)
	}
	if h[0] != berSequence {
		return nil, malformed("message starts with 0x%02x, not a SEQUENCE", h[0])
	}
	hdr := 2
	if h[1] > 0x80 && h[1] <= 0x88 {
		hdr += int(h[1] & 0x7f)
		if h, err = s.r.Peek(hdr); len(h) < hdr {
			return nil, eof(err)
		}
	}
	n, _, err := berLength(h[1:hdr])
	if err != nil {
		return nil, err
	}
	if n > uint64(s.max) {
		return nil, malformed("message of %d octets (the limit is %d)", n, s.max)
	}
	total := hdr + int(n)
	if total <= s.r.Size() {
		msg, err := s.r.Peek(total)
		if len(msg) < total {
			return nil, eof(err)
		}
		s.pending = total
		return msg[hdr:], nil
	}
	// Larger than the read buffer: copy it out, growing the copy as the
	// octets arrive, so that a bogus length allocates no more than what
	// the peer really sent.
	s.r.Discard(hdr)
	s.scratch = s.scratch[:0]
	for len(s.scratch) < int(n) {
		chunk := min(int(n)-len(s.scratch), 1<<20)
		s.scratch = slices.Grow(s.scratch, chunk)
		k, err := io.ReadFull(s.r, s.scratch[len(s.scratch):len(s.scratch)+chunk])
		s.scratch = s.scratch[:len(s.scratch)+k]
		if err != nil {
			return nil, eof(err)
		}
	}
	return s.scratch, nil
}
