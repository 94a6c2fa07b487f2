package ldapdial

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

const (
	testDN       = "cn=Directory Manager"
	testPassword = "dial-test-secret-7"
)

// testPKI is a CA (as a PEM file) and a server certificate it signed for
// 127.0.0.1.
type testPKI struct {
	caFile string
	server *tls.Config
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dial test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
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
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return testPKI{caFile: caFile, server: &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: key}}}}
}

// fakeDS is a directory server on loopback that knows StartTLS and simple
// binds, and records whether a bind came in the clear.
type fakeDS struct {
	tls        *tls.Config // server side; nil: no TLS at all
	ldaps      bool
	noStartTLS bool // answer StartTLS with protocolError, as 389 without TLS does
	hang       bool // accept and never answer

	addr       string
	mu         sync.Mutex
	plainBinds int
	closed     chan struct{} // a connection ended
}

func startFakeDS(t *testing.T, f *fakeDS) *fakeDS {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f.addr, f.closed = ln.Addr().String(), make(chan struct{}, 16)
	var wg sync.WaitGroup
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		f.mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		f.mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			f.mu.Lock()
			conns = append(conns, c)
			f.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				f.serve(c)
				f.closed <- struct{}{}
			}()
		}
	}()
	return f
}

func response(id int64, tag ber.Tag, code int64, msg string) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "")
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, ""))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, msg, ""))
	p.AppendChild(r)
	return p.Bytes()
}

func (f *fakeDS) serve(conn net.Conn) {
	defer func() { conn.Close() }()
	if f.hang {
		io.Copy(io.Discard, conn) // until the client goes
		return
	}
	secure := false
	if f.ldaps {
		tc := tls.Server(conn, f.tls)
		if tc.Handshake() != nil {
			return
		}
		conn, secure = tc, true
	}
	for {
		p, err := ber.ReadPacket(conn)
		if err != nil || len(p.Children) < 2 {
			return
		}
		id, _ := p.Children[0].Value.(int64)
		op := p.Children[1]
		switch op.Tag {
		case ldap.ApplicationExtendedRequest:
			if op.Children[0].Data.String() != OIDStartTLS || f.noStartTLS || f.tls == nil || secure {
				conn.Write(response(id, ldap.ApplicationExtendedResponse, ldap.LDAPResultProtocolError, "unsupported extended operation"))
				continue
			}
			conn.Write(response(id, ldap.ApplicationExtendedResponse, 0, ""))
			tc := tls.Server(conn, f.tls)
			if tc.Handshake() != nil {
				return
			}
			conn, secure = tc, true
		case ldap.ApplicationBindRequest:
			f.mu.Lock()
			if !secure {
				f.plainBinds++
			}
			f.mu.Unlock()
			code := int64(0)
			if op.Children[1].Value != testDN || op.Children[2].Data.String() != testPassword {
				code = ldap.LDAPResultInvalidCredentials
			}
			conn.Write(response(id, ldap.ApplicationBindResponse, code, ""))
		default:
			return
		}
	}
}

func (f *fakeDS) binds() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.plainBinds
}

func TestDial(t *testing.T) {
	pki := newTestPKI(t)
	other := newTestPKI(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()

	tests := []struct {
		name    string
		ds      *fakeDS // nil: nothing listens
		edit    func(*Target)
		wantTLS bool
		wantErr string // with %s for the server's address
		wantIs  error
	}{
		{name: "plain", ds: &fakeDS{}},
		{name: "ldaps", ds: &fakeDS{tls: pki.server, ldaps: true}, edit: func(t *Target) { t.CA = pki.caFile }, wantTLS: true},
		{name: "ldaps with starttls set", ds: &fakeDS{tls: pki.server, ldaps: true}, edit: func(t *Target) { t.CA, t.StartTLS = pki.caFile, true }, wantTLS: true},
		{name: "starttls", ds: &fakeDS{tls: pki.server}, edit: func(t *Target) { t.CA, t.StartTLS = pki.caFile, true }, wantTLS: true},
		{name: "insecure skip verify", ds: &fakeDS{tls: pki.server, ldaps: true}, edit: func(t *Target) { t.InsecureSkipVerify = true }, wantTLS: true},
		{name: "refused", edit: func(t *Target) { t.URL = "ldap://" + refused },
			wantErr: "connect " + refused + ": connection refused"},
		{name: "ldaps unknown ca", ds: &fakeDS{tls: pki.server, ldaps: true}, edit: func(t *Target) { t.CA = other.caFile },
			wantErr: "tls handshake with %s: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "starttls unknown ca", ds: &fakeDS{tls: pki.server}, edit: func(t *Target) { t.StartTLS = true; t.CA = other.caFile },
			wantErr: "starttls with %s: tls: failed to verify certificate: x509: certificate signed by unknown authority"},
		{name: "starttls refused", ds: &fakeDS{noStartTLS: true}, edit: func(t *Target) { t.StartTLS = true },
			wantErr: `starttls with %s: the server does not offer StartTLS (LDAP Result Code 2 "Protocol Error": unsupported extended operation); nothing is sent in plaintext: enable TLS on the server or use an ldaps:// URL`},
		{name: "tls 1.1 server", ds: &fakeDS{tls: &tls.Config{Certificates: pki.server.Certificates, MaxVersion: tls.VersionTLS11}, ldaps: true},
			edit: func(t *Target) { t.CA = pki.caFile }, wantErr: "tls handshake with %s: "},
		{name: "ldaps never answers", ds: &fakeDS{hang: true}, edit: func(t *Target) { t.URL = strings.Replace(t.URL, "ldap:", "ldaps:", 1) },
			wantErr: "tls handshake with %s: timed out", wantIs: context.DeadlineExceeded},
		{name: "starttls never answers", ds: &fakeDS{hang: true}, edit: func(t *Target) { t.StartTLS = true },
			wantErr: "starttls with %s: timed out", wantIs: context.DeadlineExceeded},
		{name: "missing ca file", ds: &fakeDS{tls: pki.server, ldaps: true}, edit: func(t *Target) { t.CA = "/nonexistent/ca.pem" },
			wantErr: "ldap ca /nonexistent/ca.pem: no such file or directory"},
		{name: "not an ldap url", edit: func(t *Target) { t.URL = "http://127.0.0.1" },
			wantErr: `directory url "http://127.0.0.1": unknown scheme "http" (want ldap, ldaps or ldapi)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := Target{URL: "ldap://" + refused, Timeout: 500 * time.Millisecond}
			addr := refused
			var ds *fakeDS
			if tt.ds != nil {
				ds = startFakeDS(t, tt.ds)
				addr = ds.addr
				target.URL = "ldap://" + addr
				if ds.ldaps {
					target.URL = "ldaps://" + addr
				}
			}
			if tt.edit != nil {
				tt.edit(&target)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			l, err := Dial(ctx, target)
			if tt.wantErr != "" {
				want := tt.wantErr
				if strings.Contains(want, "%s") {
					want = strings.ReplaceAll(want, "%s", addr)
				}
				if err == nil || !strings.HasPrefix(err.Error(), want) {
					t.Fatalf("Dial = %v; want %q", err, want)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("Dial = %v; want errors.Is %v", err, tt.wantIs)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("Dial took %s with a timeout of %s", d, target.Timeout)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			if l.IsClosing() {
				t.Fatal("connection closing")
			}
			if err := Bind(ctx, l, target, testDN, testPassword); err != nil {
				t.Fatalf("Bind = %v", err)
			}
			if n := ds.binds(); tt.wantTLS && n != 0 {
				t.Errorf("%d binds in the clear", n)
			}
		})
	}
}

func TestBindError(t *testing.T) {
	ds := startFakeDS(t, &fakeDS{})
	target := Target{URL: "ldap://" + ds.addr + "/o=siroe.com"}
	ctx := context.Background()
	l, err := Dial(ctx, target)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const wrong = "not-the-password-42"
	err = Bind(ctx, l, target, testDN, wrong)
	want := "bind to " + ds.addr + " as " + testDN + ": invalid credentials (wrong password or bind DN)"
	if err == nil || err.Error() != want {
		t.Fatalf("Bind with a wrong password = %v; want %q", err, want)
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		t.Errorf("Bind error %v does not carry result code 49", err)
	}
	if strings.Contains(err.Error(), wrong) {
		t.Errorf("the password is in %q", err)
	}
	if err := BindError(ctx, target, testDN, nil); err != nil {
		t.Errorf("BindError(nil) = %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := BindError(cctx, target, testDN, errors.New("ldap: connection closed")); !errors.Is(err, context.Canceled) {
		t.Errorf("BindError after cancel = %v; want context.Canceled in the chain", err)
	}
}

// TestDialContextEnd: the connection closes when the context ends, and
// its deadline is the context's.
func TestDialContextEnd(t *testing.T) {
	ds := startFakeDS(t, &fakeDS{hang: true})
	ctx, cancel := context.WithCancel(context.Background())
	c, err := DialNet(ctx, Target{URL: "ldap://" + ds.addr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.TLS || c.Addr != ds.addr {
		t.Errorf("Conn TLS %v addr %q; want plain %s", c.TLS, c.Addr, ds.addr)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Error("Read after the context ended succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the connection stayed open after the context ended")
	}
	select {
	case <-ds.closed:
	case <-time.After(5 * time.Second):
		t.Error("the server did not see the connection close")
	}
}

// TestDialNetWrap: TLS runs over what wrap returns, and Close closes the
// socket under it.
func TestDialNetWrap(t *testing.T) {
	pki := newTestPKI(t)
	ds := startFakeDS(t, &fakeDS{tls: pki.server})
	var wrapped *countingConn
	c, err := DialNet(context.Background(), Target{URL: "ldap://" + ds.addr, StartTLS: true, CA: pki.caFile},
		func(socket net.Conn) net.Conn {
			wrapped = &countingConn{Conn: socket}
			return wrapped
		})
	if err != nil {
		t.Fatal(err)
	}
	if !c.TLS {
		t.Error("StartTLS connection not TLS")
	}
	if _, ok := c.Conn.(*tls.Conn); !ok {
		t.Errorf("Conn is %T; want *tls.Conn", c.Conn)
	}
	if wrapped == nil || wrapped.reads == 0 {
		t.Error("the handshake did not read through wrap's connection")
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	select {
	case <-ds.closed:
	case <-time.After(5 * time.Second):
		t.Error("the server did not see the connection close")
	}
}

type countingConn struct {
	net.Conn
	reads int
}

func (c *countingConn) Read(p []byte) (int, error) {
	c.reads++
	return c.Conn.Read(p)
}

// TestDialLDAPI dials a unix socket named by an ldapi:// URL.
func TestDialLDAPI(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "ldapi")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			(&fakeDS{}).serve(c)
		}
	}()
	target := Target{URL: "ldapi://" + strings.ReplaceAll(sock, "/", "%2F")}
	l, err := Dial(context.Background(), target)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := Bind(context.Background(), l, target, testDN, testPassword); err != nil {
		t.Fatal(err)
	}
}
