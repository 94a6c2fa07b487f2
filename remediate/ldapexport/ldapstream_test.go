package ldapexport

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/internal/ldapdial"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/simtest"
)

// --- BER encoding of responses, with asn1-ber: independent of the decoder.

type fakeAttr struct {
	name string
	vals []string
}

type fakeEntry struct {
	dn    string
	attrs []fakeAttr
}

func berMessage(id int64, op *ber.Packet, controls ...*ber.Packet) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAPMessage")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "messageID"))
	p.AppendChild(op)
	if len(controls) > 0 {
		c := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, ctl := range controls {
			c.AppendChild(ctl)
		}
		p.AppendChild(c)
	}
	return p.Bytes()
}

func berEntryOp(e fakeEntry) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultEntry, nil, "SearchResultEntry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, e.dn, "objectName"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "attributes")
	for _, a := range e.attrs {
		pa := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "PartialAttribute")
		pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.name, "type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "vals")
		for _, v := range a.vals {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "value"))
		}
		pa.AppendChild(set)
		list.AppendChild(pa)
	}
	op.AppendChild(list)
	return op
}

func berResultOp(app ber.Tag, code int, matched, diag string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, app, nil, "LDAPResult")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), "resultCode"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matched, "matchedDN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, "diagnosticMessage"))
	return op
}

func berPaging(cookie string) *ber.Packet {
	c := ldap.NewControlPaging(0)
	c.SetCookie([]byte(cookie))
	return c.Encode()
}

func berReferenceOp(uri string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationSearchResultReference, nil, "SearchResultReference")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, uri, "URI"))
	return op
}

// --- The LDIF Export wrote before ldapstream.go (go-ldap entries and
// strings): the reference its output must still match byte for byte.

func refLDIFSafe(v string) bool {
	if v == "" {
		return true
	}
	switch v[0] {
	case ' ', ':', '<':
		return false
	}
	if v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}

func refLDIFLine(b *strings.Builder, attr, value string) {
	line := attr
	if refLDIFSafe(value) {
		line += ":"
		if value != "" {
			line += " " + value
		}
	} else {
		line += ":: " + base64.StdEncoding.EncodeToString([]byte(value))
	}
	for first := true; len(line) > 0; first = false {
		width := ldifFoldWidth
		if !first {
			b.WriteByte(' ')
			width--
		}
		k := min(width, len(line))
		b.WriteString(line[:k])
		b.WriteByte('\n')
		line = line[k:]
	}
}

func refLDIF(entries []fakeEntry) string {
	var b strings.Builder
	b.WriteString("version: 1\n\n")
	for _, e := range entries {
		refLDIFLine(&b, "dn", e.dn)
		for _, a := range e.attrs {
			for _, v := range a.vals {
				refLDIFLine(&b, a.name, v)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// --- Decoder unit tests on hand-made BER.

func TestLDAPStreamBERInt(t *testing.T) {
	for _, v := range []int64{0, 1, 127, 128, 255, 256, -1, -128, -129, 1 << 31, -(1 << 31), 1<<63 - 1, -1 << 63} {
		b := berAppendInt(nil, berInteger, v)
		tag, c, rest, err := berElem(b)
		if err != nil || tag != berInteger || len(rest) != 0 {
			t.Fatalf("%d: berElem(% x) = %x, %v", v, b, tag, err)
		}
		got, err := berInt(c)
		if err != nil || got != v {
			t.Errorf("berInt(% x) = %d, %v; want %d", c, got, err, v)
		}
		if want := ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, v, "").Bytes(); !bytes.Equal(b, want) {
			t.Errorf("%d encodes as % x; asn1-ber: % x", v, b, want)
		}
	}
	for _, n := range []int{0, 1, 127, 128, 255, 256, 65535, 65536, 1 << 24, 1<<24 + 1} {
		b := berAppendLength(nil, n)
		got, size, err := berLength(b)
		if err != nil || got != uint64(n) || size != len(b) {
			t.Errorf("berLength(% x) = %d, %d, %v; want %d", b, got, size, err, n)
		}
	}
}

// streamOf is a stream over b with a small read buffer, so that the
// copying path for large messages is taken too.
func streamOf(b []byte, bufSize int) *ldapStream {
	return &ldapStream{in: newBERStream(bytes.NewReader(b), bufSize), batch: newBatchConn(nil), pageSize: ldifPageSize}
}

// pageEntries runs s.page for message 1 and returns the entries it gave.
func pageEntries(s *ldapStream) ([]fakeEntry, bool, error) {
	var got []fakeEntry
	more, err := s.page(1, func(e *rawEntry) error {
		fe := fakeEntry{dn: string(e.dn)}
		for _, a := range e.attrs {
			fa := fakeAttr{name: string(a.name)}
			for _, v := range e.vals[a.first:a.end] {
				fa.vals = append(fa.vals, string(v))
			}
			fe.attrs = append(fe.attrs, fa)
		}
		got = append(got, fe)
		return nil
	})
	return got, more, err
}

func TestLDAPStreamPage(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 40<<10/16) // 40 KiB: larger than the test buffer
	alice := fakeEntry{dn: "uid=alice,ou=People,o=siroe.com", attrs: []fakeAttr{
		{"objectClass", []string{"top", "person"}}, {"cn", []string{"Alice"}}, {"jpegPhoto", []string{"\xff\xd8\xff\x00"}},
		{"description", nil}, {"userCertificate;binary", []string{big}}, {"mail", []string{""}}}}
	bob := fakeEntry{dn: "uid=bob,ou=People,o=siroe.com", attrs: []fakeAttr{{"cn", []string{"Bob"}}}}
	entry := func(id int64, e fakeEntry) []byte { return berMessage(id, berEntryOp(e)) }
	done := func(id int64, cookie string) []byte {
		return berMessage(id, berResultOp(ldap.ApplicationSearchResultDone, 0, "", ""), berPaging(cookie))
	}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// OpenLDAP writes every length in the long form: 0x84 and 4 octets.
	long := func(m []byte) []byte {
		var rewrite func(b []byte) []byte
		rewrite = func(b []byte) []byte {
			var out []byte
			for len(b) > 0 {
				tag, c, rest, err := berElem(b)
				if err != nil {
					t.Fatal(err)
				}
				if tag&0x20 != 0 {
					c = rewrite(c)
				}
				n := len(c)
				out = append(append(out, tag, 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n)), c...)
				b = rest
			}
			return out
		}
		return rewrite(m)
	}
	cases := []struct {
		name    string
		in      []byte
		want    []fakeEntry
		more    bool
		wantErr string
	}{
		{"two entries and a cookie", cat(entry(1, alice), entry(1, bob), done(1, "next")), []fakeEntry{alice, bob}, true, ""},
		{"last page", cat(entry(1, bob), done(1, "")), []fakeEntry{bob}, false, ""},
		{"no paging control", cat(entry(1, bob), berMessage(1, berResultOp(ldap.ApplicationSearchResultDone, 0, "", ""))), []fakeEntry{bob}, false, ""},
		{"long-form lengths", long(cat(entry(1, alice), done(1, "c"))), []fakeEntry{alice}, true, ""},
		{"references skipped", cat(berMessage(1, berReferenceOp("ldap://elsewhere/o=x")), entry(1, bob), done(1, "")), []fakeEntry{bob}, false, ""},
		{"error result", cat(entry(1, bob), berMessage(1, berResultOp(ldap.ApplicationSearchResultDone, 32, "o=siroe.com", "no such base"))),
			[]fakeEntry{bob}, false, `LDAP Result Code 32 "No Such Object": no such base`},
		{"notice of disconnection", cat(entry(1, bob), berMessage(0, berResultOp(ldap.ApplicationExtendedResponse, 52, "", "shutting down"))),
			[]fakeEntry{bob}, false, "the server ended the session: LDAP Result Code 52"},
		{"other message id", entry(2, bob), nil, false, "response to message 2 while waiting for 1"},
		{"unexpected operation", berMessage(1, berResultOp(ldap.ApplicationBindResponse, 0, "", "")), nil, false, "response 0x61 to a search"},
		{"closed before done", entry(1, bob), []fakeEntry{bob}, false, "the server closed the connection"},
		{"empty", nil, nil, false, "the server closed the connection"},
	}
	for _, tc := range cases {
		for _, size := range []int{16, 4096, ldapReadBuffer} {
			t.Run(fmt.Sprintf("%s/buffer %d", tc.name, size), func(t *testing.T) {
				got, more, err := pageEntries(streamOf(tc.in, size))
				if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
					t.Fatalf("page = %v; want error %q", err, tc.wantErr)
				}
				if !slices.EqualFunc(got, tc.want, fakeEntryEqual) {
					t.Errorf("entries = %q; want %q", got, tc.want)
				}
				if err == nil && more != tc.more {
					t.Errorf("more = %v; want %v", more, tc.more)
				}
			})
		}
	}

	t.Run("result code error is an ldap.Error", func(t *testing.T) {
		_, _, err := pageEntries(streamOf(berMessage(1, berResultOp(ldap.ApplicationSearchResultDone, 4, "", "too many")), 64))
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
			t.Errorf("error %v is not an ldap.Error with code 4", err)
		}
	})
}

func fakeEntryEqual(a, b fakeEntry) bool {
	if a.dn != b.dn || len(a.attrs) != len(b.attrs) {
		return false
	}
	for i := range a.attrs {
		if a.attrs[i].name != b.attrs[i].name || !slices.Equal(a.attrs[i].vals, b.attrs[i].vals) {
			return false
		}
	}
	return true
}

func TestLDAPStreamMalformed(t *testing.T) {
	entry := berMessage(1, berEntryOp(fakeEntry{dn: "cn=x", attrs: []fakeAttr{{"cn", []string{"x"}}}}))
	cases := []struct {
		name, want string
		in         []byte
	}{
		{"truncated header", "unexpected EOF", []byte{0x30}},
		{"truncated long length", "unexpected EOF", []byte{0x30, 0x84, 0x00}},
		{"truncated body", "unexpected EOF", entry[:len(entry)-3]},
		{"truncated large body", "unexpected EOF", []byte{0x30, 0x83, 0x10, 0x00, 0x00, 0x02, 0x01}},
		{"not a sequence", "not a SEQUENCE", []byte{0x31, 0x00}},
		{"indefinite length", "indefinite length", []byte{0x30, 0x80, 0x02, 0x01, 0x01, 0x00, 0x00}},
		{"length of 9 octets", "length of 9 octets", []byte{0x30, 0x89, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0}},
		{"oversized length", "the limit is", []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02}},
		{"huge length", "the limit is", []byte{0x30, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{"inner length past the end", "element of 100 octets", []byte{0x30, 0x05, 0x02, 0x64, 0x01, 0x64, 0x00}},
		{"message ID not an integer", "message ID has tag 0x04", []byte{0x30, 0x05, 0x04, 0x01, 0x01, 0x64, 0x00}},
		{"empty message ID", "integer of 0 octets", []byte{0x30, 0x04, 0x02, 0x00, 0x64, 0x00}},
		{"multi-octet tag", "multi-octet tag", []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x7f, 0x00}},
		{"entry without attribute list", "attribute list", []byte{0x30, 0x08, 0x02, 0x01, 0x01, 0x64, 0x03, 0x04, 0x01, 'x'}},
		{"entry DN not a string", "entry DN has tag 0x02", []byte{0x30, 0x0a, 0x02, 0x01, 0x01, 0x64, 0x05, 0x02, 0x01, 0x00, 0x30, 0x00}},
		{"attribute type with a colon", `attribute type "c:n"`, berMessage(1, berEntryOp(fakeEntry{dn: "cn=x", attrs: []fakeAttr{{"c:n", []string{"x"}}}}))},
		{"attribute type with a newline", "attribute type", berMessage(1, berEntryOp(fakeEntry{dn: "cn=x", attrs: []fakeAttr{{"cn\nx", []string{"x"}}}}))},
		{"empty attribute type", "attribute type", berMessage(1, berEntryOp(fakeEntry{dn: "cn=x", attrs: []fakeAttr{{"", []string{"x"}}}}))},
		{"done without a result code", "result code", []byte{0x30, 0x05, 0x02, 0x01, 0x01, 0x65, 0x00}},
		{"bad paging value", "paged results", berMessage(1, berResultOp(ldap.ApplicationSearchResultDone, 0, "", ""),
			func() *ber.Packet {
				c := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Control")
				c.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, ldapOIDPaging, ""))
				c.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "\x30\x03\x02\x01", ""))
				return c
			}())},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{16, ldapReadBuffer} {
				_, _, err := pageEntries(streamOf(tc.in, size))
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("buffer %d: page = %v; want an error with %q", size, err, tc.want)
				}
			}
		})
	}
}

// A length that claims more than arrives allocates no more than arrived.
func TestLDAPStreamBogusLengthAllocation(t *testing.T) {
	in := append([]byte{0x30, 0x84, 0x0f, 0xff, 0xff, 0xff}, make([]byte, 100)...)
	s := newBERStream(bytes.NewReader(in), 16)
	if _, err := s.next(); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("next = %v; want unexpected EOF", err)
	}
	if cap(s.scratch) > 2<<20 {
		t.Errorf("a 256 MiB length with 100 octets behind it grew the buffer to %d", cap(s.scratch))
	}
}

func TestLDAPStreamSearchRequest(t *testing.T) {
	f, err := ldap.CompileFilter("(&(objectClass=inetLocalMailRecipient)(cn=a*))")
	if err != nil {
		t.Fatal(err)
	}
	for _, attrs := range [][]string{nil, {"1.1"}, {"cn", "mail"}} {
		b := searchRequest(7, "o=siroe.com", f.Bytes(), attrs, 1000, []byte("cookie\x00"))
		p, err := ber.DecodePacketErr(b)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Children[0].Value; got != int64(7) {
			t.Errorf("message ID %v", got)
		}
		op := p.Children[1]
		if op.ClassType != ber.ClassApplication || op.Tag != ldap.ApplicationSearchRequest || op.Children[0].Value != "o=siroe.com" ||
			op.Children[1].Value != int64(ldap.ScopeWholeSubtree) || op.Children[2].Value != int64(ldap.NeverDerefAliases) {
			t.Errorf("search request %v", op.Children)
		}
		if got, err := ldap.DecompileFilter(op.Children[6]); err != nil || got != "(&(objectClass=inetLocalMailRecipient)(cn=a*))" {
			t.Errorf("filter %q, %v", got, err)
		}
		var gotAttrs []string
		for _, a := range op.Children[7].Children {
			gotAttrs = append(gotAttrs, a.Value.(string))
		}
		if !slices.Equal(gotAttrs, attrs) {
			t.Errorf("attributes %q; want %q", gotAttrs, attrs)
		}
		ctl, err := ldap.DecodeControl(p.Children[2].Children[0])
		if err != nil {
			t.Fatal(err)
		}
		pg, ok := ctl.(*ldap.ControlPaging)
		if !ok || pg.PagingSize != 1000 || string(pg.Cookie) != "cookie\x00" {
			t.Errorf("paging control %v", ctl)
		}
	}
}

// TestLDIFEntryMatchesReference: the byte-slice writer writes what the
// string writer Export had before wrote.
func TestLDIFEntryMatchesReference(t *testing.T) {
	entries := fakeEntries(300, 0)
	var b bytes.Buffer
	lw := newLDIFWriter(&b)
	lw.raw("version: 1\n\n")
	s := streamOf(nil, 64)
	for _, e := range entries {
		body := berEntryOp(e).Bytes()
		_, c, _, err := berElem(body)
		if err != nil {
			t.Fatal(err)
		}
		if err := parseEntry(c, &s.entry); err != nil {
			t.Fatal(err)
		}
		lw.entry(&s.entry)
	}
	if err := lw.flush(); err != nil {
		t.Fatal(err)
	}
	if want := refLDIF(entries); b.String() != want {
		t.Errorf("LDIF differs from the reference writer's:\n%s", firstDiff(b.String(), want))
	}
}

func firstDiff(got, want string) string {
	gl, wl := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range min(len(gl), len(wl)) {
		if gl[i] != wl[i] {
			return fmt.Sprintf("line %d: got %q\n         want %q", i+1, gl[i], wl[i])
		}
	}
	return fmt.Sprintf("got %d lines, want %d", len(gl), len(wl))
}

// fakeEntries is n entries whose values need every LDIF form; when big >
// 0, one entry carries a value of that many octets.
func fakeEntries(n, big int) []fakeEntry {
	var out []fakeEntry
	specials := []string{"", " leading space", "trailing space ", ":colon", "<less", "a\nb", "a\rb", "nul\x00", "Françoise",
		"\xff\xd8\xff\xe0 binary", strings.Repeat("long value ", 30), strings.Repeat("x", 72), strings.Repeat("y", 73), "a: <b>"}
	for i := range n {
		e := fakeEntry{dn: fmt.Sprintf("uid=user%05d,ou=People,o=siroe.com", i), attrs: []fakeAttr{
			{"objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson", "inetLocalMailRecipient"}},
			{"uid", []string{fmt.Sprintf("user%05d", i)}},
			{"cn", []string{fmt.Sprintf("User %05d", i)}},
			{"mail", []string{fmt.Sprintf("user%05d@siroe.com", i)}},
			{"description", []string{specials[i%len(specials)], specials[(i*7+3)%len(specials)]}},
		}}
		switch i % 10 {
		case 3:
			e.dn = fmt.Sprintf("cn=Müller %d,ou=People,o=siroe.com", i)
		case 5:
			e.attrs = append(e.attrs, fakeAttr{"userCertificate;binary", []string{strings.Repeat("\x30\x82\x01\x00", 100)}})
		case 7:
			e.attrs = append(e.attrs, fakeAttr{"seeAlso", nil})
		}
		if big > 0 && i == n/2 {
			e.attrs = append(e.attrs, fakeAttr{"jpegPhoto", []string{strings.Repeat("\xff\xd8", big/2)}})
		}
		out = append(out, e)
	}
	return out
}

// --- A fake directory server on loopback, decoding requests with asn1-ber.

const fakeBindDN = "cn=Directory Manager"

type fakeLDAP struct {
	t          testing.TB
	entries    []fakeEntry
	password   string
	tls        *tls.Config // server side, for ldaps and StartTLS
	ldaps      bool
	noStartTLS bool // refuse StartTLS
	countExtra int  // more entries for "1.1" searches: the directory changed
	doneCode   int  // result code of every SearchResultDone
	maxPage    int  // the server's own page size limit (0: none)
	pageLimit  int  // a larger page is an error after that many entries, as 389 does
	garbage    bool // answer searches with bytes that are not LDAP
	stall      chan struct{}

	ln  net.Listener
	URL string

	mu            sync.Mutex
	plainBinds    int // binds and searches received in the clear
	plainSearches int
	searches      int
}

// counts returns the searches, and the binds and searches in the clear.
func (f *fakeLDAP) counts() (searches, plainBinds, plainSearches int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.searches, f.plainBinds, f.plainSearches
}

func newFakeLDAP(t testing.TB, f *fakeLDAP) *fakeLDAP {
	t.Helper()
	f.t = t
	if f.password == "" {
		f.password = "fake-DM-pass-0042"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.ln = ln
	scheme := "ldap"
	if f.ldaps {
		scheme = "ldaps"
	}
	f.URL = scheme + "://" + ln.Addr().String()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.serve(c)
			}()
		}
	}()
	return f
}

func (f *fakeLDAP) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	secure := false
	if f.ldaps {
		tc := tls.Server(conn, f.tls)
		if tc.Handshake() != nil {
			return
		}
		conn, secure = tc, true
	}
	r := bufio.NewReader(conn)
	for {
		p, err := ber.ReadPacket(r)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id, _ := p.Children[0].Value.(int64)
		op := p.Children[1]
		switch op.Tag {
		case ldap.ApplicationExtendedRequest:
			if op.Children[0].Data.String() != ldapdial.OIDStartTLS || f.noStartTLS || f.tls == nil {
				conn.Write(berMessage(id, berResultOp(ldap.ApplicationExtendedResponse, ldap.LDAPResultUnavailable, "", "StartTLS not offered")))
				continue
			}
			conn.Write(berMessage(id, berResultOp(ldap.ApplicationExtendedResponse, 0, "", "")))
			tc := tls.Server(conn, f.tls)
			if tc.Handshake() != nil {
				return
			}
			conn, r, secure = tc, bufio.NewReader(tc), true
		case ldap.ApplicationBindRequest:
			f.mu.Lock()
			if !secure {
				f.plainBinds++
			}
			f.mu.Unlock()
			code := 0
			if op.Children[1].Value != fakeBindDN || op.Children[2].Data.String() != f.password {
				code = ldap.LDAPResultInvalidCredentials
			}
			conn.Write(berMessage(id, berResultOp(ldap.ApplicationBindResponse, code, "", "")))
		case ldap.ApplicationUnbindRequest:
			return
		case ldap.ApplicationSearchRequest:
			f.mu.Lock()
			f.searches++
			if !secure {
				f.plainSearches++
			}
			f.mu.Unlock()
			if !f.search(conn, id, p) {
				return
			}
		default:
			return
		}
	}
}

// search answers one page, writing each message on its own as slapd does.
func (f *fakeLDAP) search(conn net.Conn, id int64, p *ber.Packet) bool {
	op := p.Children[1]
	if f.garbage {
		conn.Write([]byte("HTTP/1.0 400 Bad Request\r\n\r\n"))
		return false
	}
	var attrs []string
	for _, a := range op.Children[7].Children {
		attrs = append(attrs, a.Value.(string))
	}
	size, cookie := 0, ""
	if len(p.Children) > 2 {
		for _, c := range p.Children[2].Children {
			if ctl, err := ldap.DecodeControl(c); err == nil {
				if pg, ok := ctl.(*ldap.ControlPaging); ok {
					size, cookie = int(pg.PagingSize), string(pg.Cookie)
				}
			}
		}
	}
	if f.doneCode != 0 {
		conn.Write(berMessage(id, berResultOp(ldap.ApplicationSearchResultDone, f.doneCode, "o=siroe.com",
			"no such entry: "+op.Children[0].Value.(string))))
		return true
	}
	entries := f.entries
	countOnly := slices.Equal(attrs, []string{"1.1"})
	if countOnly {
		entries = nil
		for _, e := range f.entries {
			entries = append(entries, fakeEntry{dn: e.dn})
		}
		for i := range f.countExtra {
			entries = append(entries, fakeEntry{dn: fmt.Sprintf("cn=new %d,o=siroe.com", i)})
		}
	}
	start, _ := strconv.Atoi(cookie)
	if size == 0 {
		size = len(entries)
	}
	if f.maxPage > 0 {
		size = min(size, f.maxPage)
	}
	if f.pageLimit > 0 && size > f.pageLimit {
		for _, e := range entries[start:min(start+f.pageLimit, len(entries))] {
			conn.Write(berMessage(id, berEntryOp(e)))
		}
		_, err := conn.Write(berMessage(id, berResultOp(ldap.ApplicationSearchResultDone, ldap.LDAPResultSizeLimitExceeded, "", "")))
		return err == nil
	}
	end := min(start+size, len(entries))
	if start > 0 && f.stall != nil && !countOnly {
		select {
		case <-f.stall:
		case <-time.After(time.Minute):
		}
	}
	for _, e := range entries[start:end] {
		if _, err := conn.Write(berMessage(id, berEntryOp(e))); err != nil {
			return false
		}
	}
	next := ""
	if end < len(entries) {
		next = strconv.Itoa(end)
	}
	_, err := conn.Write(berMessage(id, berResultOp(ldap.ApplicationSearchResultDone, 0, "", ""), berPaging(next)))
	return err == nil
}

// testPKI is a CA and a server certificate for 127.0.0.1 that it signed.
type testPKI struct {
	caFile string
	server *tls.Config
}

func newTestPKI(t testing.TB, dir, name string) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name + " CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, name+"-ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testPKI{caFile: caFile, server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}}}
}

func TestExportLDIFStreamFakeServer(t *testing.T) {
	dir := t.TempDir()
	pki := newTestPKI(t, dir, "good")
	other := newTestPKI(t, dir, "other")
	entries := fakeEntries(2345, 300<<10)
	want := refLDIF(entries)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	conn := func(f *fakeLDAP) Conn {
		return Conn{URL: f.URL, BindDN: fakeBindDN, Password: f.password, Timeout: 20 * time.Second}
	}
	noFiles := func(t *testing.T, out string) {
		t.Helper()
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("a failed export left %s: %v", out, err)
		}
		if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "."+filepath.Base(out)+".tmp*")); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	}
	export := func(t *testing.T, f *fakeLDAP, c Conn) {
		t.Helper()
		out := filepath.Join(dir, t.Name()[strings.LastIndex(t.Name(), "/")+1:]+".ldif")
		n, err := Export(ctx, c, "o=siroe.com", "(objectClass=*)", out)
		if err != nil || n != int64(len(entries)) {
			t.Fatalf("Export = %d, %v; want %d", n, err, len(entries))
		}
		got, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("export differs from the reference LDIF:\n%s", firstDiff(string(got), want))
		}
		if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("export mode %v, %v; want 0600", fi.Mode(), err)
		}
		if _, binds, searches := f.counts(); (binds != 0 || searches != 0) && (c.StartTLS || f.ldaps) {
			t.Errorf("%d binds and %d searches in the clear", binds, searches)
		}
	}

	t.Run("plain", func(t *testing.T) {
		f := newFakeLDAP(t, &fakeLDAP{entries: entries})
		export(t, f, conn(f))
		if n, _, _ := f.counts(); n != len(entries)/ldifPageSize+1+1 {
			t.Errorf("%d searches; want %d pages of export and one of count", n, len(entries)/ldifPageSize+1)
		}
	})
	t.Run("server limits each page", func(t *testing.T) {
		f := newFakeLDAP(t, &fakeLDAP{entries: entries, pageLimit: 2000})
		export(t, f, conn(f))
		if n, _, _ := f.counts(); n != 2*(len(entries)/ldifPageSize+1)+1 {
			t.Errorf("%d searches; want the export's %d pages, a refused count and a count in pages of %d", n, len(entries)/ldifPageSize+1, ldifPageSize)
		}
	})
	t.Run("server pages shorter than asked", func(t *testing.T) {
		f := newFakeLDAP(t, &fakeLDAP{entries: entries, maxPage: 300})
		export(t, f, conn(f))
	})
	t.Run("ldaps", func(t *testing.T) {
		f := newFakeLDAP(t, &fakeLDAP{entries: entries, tls: pki.server, ldaps: true})
		c := conn(f)
		c.CA = pki.caFile
		export(t, f, c)
	})
	t.Run("starttls", func(t *testing.T) {
		f := newFakeLDAP(t, &fakeLDAP{entries: entries, tls: pki.server})
		c := conn(f)
		c.CA, c.StartTLS = pki.caFile, true
		export(t, f, c)
	})
	failures := []struct {
		name string
		f    func(*fakeLDAP)
		edit func(*Conn, testPKI)
		want []string
	}{
		{"ldaps with another CA", func(f *fakeLDAP) { f.tls = pki.server; f.ldaps = true }, func(c *Conn, _ testPKI) { c.CA = other.caFile },
			[]string{"tls handshake with 127.0.0.1:", "certificate"}},
		{"starttls with another CA", func(f *fakeLDAP) { f.tls = pki.server }, func(c *Conn, _ testPKI) { c.CA, c.StartTLS = other.caFile, true },
			[]string{"starttls with 127.0.0.1:", "certificate"}},
		{"starttls refused", func(f *fakeLDAP) { f.noStartTLS = true }, func(c *Conn, _ testPKI) { c.CA, c.StartTLS = pki.caFile, true },
			[]string{"starttls with 127.0.0.1:", "the server does not offer StartTLS", "Unavailable", "StartTLS not offered"}},
		{"wrong password", nil, func(c *Conn, _ testPKI) { c.Password = "not-it" },
			[]string{"bind to 127.0.0.1:", "invalid credentials"}},
		{"empty password", nil, func(c *Conn, _ testPKI) { c.Password = "" },
			[]string{"bind to 127.0.0.1:", "empty password"}},
		{"no such base", func(f *fakeLDAP) { f.doneCode = ldap.LDAPResultNoSuchObject }, nil,
			[]string{"export o=siroe.com (objectClass=*) from ldap://", "No Such Object", "no such entry: o=siroe.com"}},
		{"directory changed underneath", func(f *fakeLDAP) { f.countExtra = 1 }, nil,
			[]string{"export o=siroe.com (objectClass=*) from ldap://", fmt.Sprintf("wrote %d entries but a count of the same search found %d", len(entries), len(entries)+1)}},
		{"not an LDAP server", func(f *fakeLDAP) { f.garbage = true }, nil,
			[]string{"export o=siroe.com (objectClass=*) from ldap://", "malformed LDAP response"}},
	}
	for _, tc := range failures {
		t.Run(tc.name, func(t *testing.T) {
			fc := &fakeLDAP{entries: entries}
			if tc.f != nil {
				tc.f(fc)
			}
			f := newFakeLDAP(t, fc)
			c := conn(f)
			if tc.edit != nil {
				tc.edit(&c, pki)
			}
			out := filepath.Join(dir, strings.ReplaceAll(tc.name, " ", "-")+".ldif")
			_, err := Export(ctx, c, "o=siroe.com", "(objectClass=*)", out)
			for _, w := range tc.want {
				if err == nil || !strings.Contains(err.Error(), w) {
					t.Errorf("Export = %v; want an error with %q", err, w)
				}
			}
			if err != nil && (strings.Contains(err.Error(), f.password) || c.Password != "" && strings.Contains(err.Error(), c.Password)) {
				t.Errorf("the password leaks into %q", err)
			}
			if _, binds, searches := f.counts(); (binds != 0 || searches != 0) && (c.StartTLS || f.ldaps) {
				t.Errorf("%d binds and %d searches in the clear", binds, searches)
			}
			noFiles(t, out)
		})
	}
	t.Run("cancelled", func(t *testing.T) {
		f := newFakeLDAP(t, &fakeLDAP{entries: entries, stall: make(chan struct{})})
		defer close(f.stall)
		cctx, ccancel := context.WithCancel(ctx)
		time.AfterFunc(300*time.Millisecond, ccancel)
		out := filepath.Join(dir, "cancelled.ldif")
		start := time.Now()
		_, err := Export(cctx, conn(f), "o=siroe.com", "(objectClass=*)", out)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Export cancelled = %v; want context.Canceled", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("cancellation took %s", d)
		}
		noFiles(t, out)
	})
	t.Run("timeout", func(t *testing.T) {
		f := newFakeLDAP(t, &fakeLDAP{entries: entries, stall: make(chan struct{})})
		defer close(f.stall)
		c := conn(f)
		c.Timeout = 300 * time.Millisecond
		out := filepath.Join(dir, "timeout.ldif")
		_, err := Export(ctx, c, "o=siroe.com", "(objectClass=*)", out)
		if err == nil || !strings.Contains(err.Error(), "no answer within 300ms") || !strings.Contains(err.Error(), f.URL) {
			t.Errorf("Export of a stalled server = %v; want a timeout naming it", err)
		}
		noFiles(t, out)
	})
}

// TestExportLDIFStreamMatchesGoLDAP exports from a real slapd and compares
// the file byte for byte with what the go-ldap export Export was
// before writes for the same search, and entry for entry with ldapsearch.
func TestExportLDIFStreamMatchesGoLDAP(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a simulated host with a real directory")
	}
	h := simtest.New(t, func(s *sim.Scenario) { s.Users = 1500; s.PAB = 40 })
	h.Start(t)
	url := directory.URL(h.State, h.State.Scenario.DSInstances[0])
	pw := h.State.Scenario.Secrets.DirectoryManager
	c := Conn{URL: url, BindDN: directory.DirectoryManagerDN, Password: pw, Timeout: time.Minute}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	conn, err := c.Dial(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Entries whose values need base64 or folding (as far as slapd's
	// syntaxes let them in: UTF-8 for strings, anything for jpegPhoto).
	texts := []string{" leading space", "trailing space ", ":colon", "<less", "line\nbreak", "cr\rhere", "Françoise",
		strings.Repeat("long value ", 30), strings.Repeat("x", 64), "a: <b>"}
	for i := range 12 {
		add := ldap.NewAddRequest(fmt.Sprintf("cn=stream %d,%s", i, directory.PABSuffix), nil)
		add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "inetOrgPerson"})
		add.Attribute("cn", []string{fmt.Sprintf("stream %d", i)})
		add.Attribute("sn", []string{texts[i%len(texts)]})
		add.Attribute("description", []string{texts[(i+3)%len(texts)], texts[(i+6)%len(texts)]})
		add.Attribute("jpegPhoto", []string{strings.Repeat(fmt.Sprintf("\xff\xd8\x00%c", i), 50*(i+1))})
		if i == 10 {
			add.Attribute("seeAlso", []string{strings.Repeat("cn=long,", 40) + directory.PABSuffix})
		}
		if err := conn.Add(add); err != nil {
			t.Fatalf("add %d: %v", i, err)
		}
	}
	dir := t.TempDir()
	for _, ex := range []struct{ base, filter string }{
		{directory.UserSuffix, "(objectclass=inetlocalmailrecipient)"},
		{directory.PABSuffix, "(objectclass=*)"},
		{directory.UserSuffix, "(objectclass=*)"},
	} {
		t.Run(ex.base+" "+ex.filter, func(t *testing.T) {
			out := filepath.Join(dir, "export.ldif")
			n, err := Export(ctx, c, ex.base, ex.filter, out)
			if err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			res, err := conn.SearchWithPaging(ldap.NewSearchRequest(ex.base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
				ex.filter, nil, nil), ldifPageSize)
			if err != nil {
				t.Fatal(err)
			}
			var ref []fakeEntry
			for _, e := range res.Entries {
				fe := fakeEntry{dn: e.DN}
				for _, a := range e.Attributes {
					fe.attrs = append(fe.attrs, fakeAttr{a.Name, a.Values})
				}
				ref = append(ref, fe)
			}
			if int64(len(ref)) != n {
				t.Errorf("Export wrote %d entries; go-ldap found %d", n, len(ref))
			}
			if want := refLDIF(ref); string(got) != want {
				t.Errorf("export differs from go-ldap's:\n%s", firstDiff(string(got), want))
			}
			peer, err := exec.CommandContext(ctx, "ldapsearch", "-x", "-LLL", "-o", "ldif-wrap=76", "-H", url,
				"-D", directory.DirectoryManagerDN, "-y", h.DMPasswordFile(t), "-E", "pr=1000/noprompt",
				"-b", ex.base, ex.filter).Output()
			if err != nil {
				t.Fatalf("ldapsearch: %v", err)
			}
			ours, theirs := ldifTestParse(t, string(got)), ldifTestParse(t, string(peer))
			if !slices.EqualFunc(ours, theirs, func(a, b ldifTestEntry) bool { return a.dn == b.dn && slices.Equal(a.attrs, b.attrs) }) {
				t.Errorf("export (%d entries) and ldapsearch (%d entries) differ", len(ours), len(theirs))
			}
		})
	}
}

// FuzzLDAPStream feeds arbitrary bytes as a server's answer to a search:
// the decoder must return an error or entries, never panic, and whatever
// it gives must come out as LDIF that reads back to the same entries.
func FuzzLDAPStream(f *testing.F) {
	for _, seed := range ldapStreamSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := streamOf(data, 16)
		s.in.max = 1 << 16
		var out bytes.Buffer
		lw := newLDIFWriter(&out)
		var want []ldifTestEntry
		for range 4 {
			more, err := s.page(1, func(e *rawEntry) error {
				te := ldifTestEntry{dn: string(e.dn)}
				for _, a := range e.attrs {
					for _, v := range e.vals[a.first:a.end] {
						te.attrs = append(te.attrs, [2]string{string(a.name), string(v)})
					}
				}
				want = append(want, te)
				lw.entry(e)
				return nil
			})
			if err != nil || !more {
				break
			}
		}
		if err := lw.flush(); err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(out.String(), "\n") {
			if len(l) > ldifFoldWidth {
				t.Fatalf("line longer than %d: %q", ldifFoldWidth, l)
			}
		}
		got := ldifTestParse(t, out.String())
		if !slices.EqualFunc(got, want, func(a, b ldifTestEntry) bool { return a.dn == b.dn && slices.Equal(a.attrs, b.attrs) }) {
			t.Fatalf("LDIF reads back as %q; want %q", got, want)
		}
	})
}

// ldapStreamSeeds are the fuzz seeds (also checked in under
// testdata/fuzz/FuzzLDAPStream).
func ldapStreamSeeds() [][]byte {
	e := fakeEntries(12, 0)
	done := func(cookie string) []byte {
		return berMessage(1, berResultOp(ldap.ApplicationSearchResultDone, 0, "", ""), berPaging(cookie))
	}
	return [][]byte{
		bytes.Join([][]byte{berMessage(1, berEntryOp(e[0])), berMessage(1, berEntryOp(e[3])), done("c")}, nil),
		bytes.Join([][]byte{berMessage(1, berEntryOp(e[5])), berMessage(1, berEntryOp(e[7])), done("")}, nil),
		bytes.Join([][]byte{berMessage(1, berReferenceOp("ldap://x/o=y")), berMessage(1, berEntryOp(e[9])), done("")}, nil),
		bytes.Join([][]byte{berMessage(1, berEntryOp(fakeEntry{dn: "cn=x"})), berMessage(1, berResultOp(ldap.ApplicationSearchResultDone, 32, "o=x", "nope"))}, nil),
		berMessage(0, berResultOp(ldap.ApplicationExtendedResponse, 52, "", "bye")),
		{0x30, 0x84, 0x00, 0x00, 0x00, 0x0c, 0x02, 0x01, 0x01, 0x64, 0x84, 0x00, 0x00, 0x00, 0x03, 0x04, 0x01, 'x'},
	}
}
