package mailflow

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/backend"
	"github.com/emersion/go-imap/backend/memory"
	imapserver "github.com/emersion/go-imap/server"
	"github.com/emersion/go-smtp"
)

// testHost is a small mail host in the test process: an SMTP server (go-smtp)
// that writes each accepted message into a queue directory, a delivery
// loop that moves queue files into the INBOX of the memory IMAP backend
// (go-imap v1), served by go-imap's server and by a tiny POP3 server.
type testHost struct {
	t        *testing.T
	queueDir string
	smtp     string
	imap     string
	pop3     string
	caFile   string
	mu       sync.Mutex // guards the INBOX between the servers and delivery
	inbox    *memory.Mailbox
	seq      int

	// Faults.
	stopDelivery bool // the MTA queues but never delivers
	rejectRcpt   bool // RCPT TO refused: relaying denied
	refuseIMAP   bool // IMAP LOGIN refused
	refusePOP3   bool // POP3 PASS refused
	popEcho      bool // the POP3 server echoes the refused command (password)
	tls          bool // STARTTLS / STLS offered
	quit         chan struct{}
}

const (
	testUser     = "username"
	testPassword = "password"
	testAddress  = "probe@siroe.com"
)

func startTestHost(t *testing.T, configure func(*testHost)) *testHost {
	t.Helper()
	h := &testHost{t: t, queueDir: t.TempDir(), quit: make(chan struct{})}
	if configure != nil {
		configure(h)
	}
	for _, ch := range []string{"tcp_local", "ims-ms"} {
		if err := os.MkdirAll(filepath.Join(h.queueDir, ch), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	var tlsCfg *tls.Config
	if h.tls {
		tlsCfg, h.caFile = testPKI(t)
	}
	be := memory.New()
	u, err := be.Login(nil, testUser, testPassword)
	if err != nil {
		t.Fatal(err)
	}
	mb, err := u.GetMailbox("INBOX")
	if err != nil {
		t.Fatal(err)
	}
	h.inbox = mb.(*memory.Mailbox)

	// SMTP
	ss := smtp.NewServer(&smtpBackend{h: h})
	ss.Domain = "mail.siroe.com"
	ss.TLSConfig = tlsCfg
	ss.AllowInsecureAuth = true
	h.smtp = serve(t, func(l net.Listener) { _ = ss.Serve(l) }, func() { ss.Close() })

	// IMAP
	is := imapserver.New(&imapBackend{h: h, be: be})
	is.AllowInsecureAuth = true
	is.TLSConfig = tlsCfg
	h.imap = serve(t, func(l net.Listener) { _ = is.Serve(l) }, func() { is.Close() })

	// POP3
	var pl net.Listener
	h.pop3 = serve(t, func(l net.Listener) {
		pl = l
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go h.servePOP3(c, tlsCfg)
		}
	}, func() {
		if pl != nil {
			pl.Close()
		}
	})

	go h.deliverLoop()
	t.Cleanup(func() { close(h.quit) })
	return h
}

func serve(t *testing.T, run func(net.Listener), stop func()) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go run(l)
	t.Cleanup(func() { stop(); l.Close() })
	return l.Addr().String()
}

// testPKI makes a CA and a server certificate for 127.0.0.1, and returns
// the server's TLS configuration and the CA as a PEM file.
func testPKI(t *testing.T) (*tls.Config, string) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "probe test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	leafKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &leafKey.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o644); err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}}}, caFile
}

// deliverLoop moves queue files into the INBOX, as a job controller does.
func (h *testHost) deliverLoop() {
	for {
		select {
		case <-h.quit:
			return
		case <-time.After(20 * time.Millisecond):
		}
		h.mu.Lock()
		stopped := h.stopDelivery
		h.mu.Unlock()
		if stopped {
			continue
		}
		files, _ := filepath.Glob(filepath.Join(h.queueDir, "*", "ZZ*.00"))
		for _, f := range files {
			body, err := os.ReadFile(f)
			if err != nil {
				continue
			}
			h.mu.Lock()
			err = h.inbox.CreateMessage(nil, time.Now(), bytes.NewReader(body))
			h.mu.Unlock()
			if err == nil {
				os.Remove(f)
			}
		}
	}
}

// inboxHolds counts the INBOX messages whose body holds s.
func (h *testHost) inboxHolds(s string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := 0
	for _, m := range h.inbox.Messages {
		if bytes.Contains(m.Body, []byte(s)) {
			n++
		}
	}
	return n
}

// queueHolds counts the queue files that hold s.
func (h *testHost) queueHolds(s string) int {
	n := 0
	_ = filepath.Walk(h.queueDir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			if b, _ := os.ReadFile(p); bytes.Contains(b, []byte(s)) {
				n++
			}
		}
		return nil
	})
	return n
}

type smtpBackend struct{ h *testHost }

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{h: b.h}, nil }

type smtpSession struct{ h *testHost }

func (s *smtpSession) Reset()        {}
func (s *smtpSession) Logout() error { return nil }
func (s *smtpSession) Mail(string, *smtp.MailOptions) error {
	return nil
}

func (s *smtpSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if s.h.rejectRcpt {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "relaying denied for " + to}
	}
	return nil
}

func (s *smtpSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.h.mu.Lock()
	s.h.seq++
	name := fmt.Sprintf("ZZ%08d.00", s.h.seq)
	s.h.mu.Unlock()
	return os.WriteFile(filepath.Join(s.h.queueDir, "tcp_local", name), b, 0o600)
}

type imapBackend struct {
	h  *testHost
	be *memory.Backend
}

func (b *imapBackend) Login(ci *imap.ConnInfo, user, pass string) (backend.User, error) {
	if b.h.refuseIMAP {
		return nil, errors.New("[UNAVAILABLE] directory lookup failed for " + user)
	}
	return b.be.Login(ci, user, pass)
}

// servePOP3 is a tiny POP3 server over the same INBOX: USER, PASS, STAT,
// TOP, RETR, DELE, QUIT, CAPA and STLS.
func (h *testHost) servePOP3(c net.Conn, tlsCfg *tls.Config) {
	defer c.Close()
	rd := bufio.NewReader(c)
	w := c.(io.Writer)
	say := func(format string, args ...any) { fmt.Fprintf(w, format+"\r\n", args...) }
	say("+OK POP3 test server ready")
	var deleted = map[int]bool{}
	var snapshot []*memory.Message
	for {
		line, err := rd.ReadString('\n')
		if err != nil {
			return
		}
		f := strings.Fields(strings.TrimSpace(line))
		if len(f) == 0 {
			continue
		}
		msg := func(arg string) *memory.Message {
			var n int
			fmt.Sscan(arg, &n)
			if n < 1 || n > len(snapshot) {
				return nil
			}
			return snapshot[n-1]
		}
		switch strings.ToUpper(f[0]) {
		case "CAPA":
			say("+OK")
			if tlsCfg != nil {
				say("STLS")
			}
			say("USER\r\nTOP\r\nUIDL\r\n.")
		case "STLS":
			say("+OK begin TLS")
			tc := tls.Server(c, tlsCfg)
			if tc.Handshake() != nil {
				return
			}
			c, rd, w = tc, bufio.NewReader(tc), tc
		case "USER":
			say("+OK")
		case "PASS":
			if h.refusePOP3 {
				if h.popEcho {
					say("-ERR [AUTH] bad login: %s", strings.TrimSpace(line))
				} else {
					say("-ERR [AUTH] bad login")
				}
				continue
			}
			h.mu.Lock()
			snapshot = append([]*memory.Message(nil), h.inbox.Messages...)
			h.mu.Unlock()
			say("+OK maildrop has %d messages", len(snapshot))
		case "STAT":
			say("+OK %d 0", len(snapshot))
		case "TOP", "RETR":
			m := msg(f[1])
			if m == nil {
				say("-ERR no such message")
				continue
			}
			body := string(m.Body)
			if strings.ToUpper(f[0]) == "TOP" {
				body, _, _ = strings.Cut(body, "\r\n\r\n")
			}
			say("+OK")
			for _, l := range strings.Split(body, "\r\n") {
				if strings.HasPrefix(l, ".") {
					l = "." + l
				}
				say("%s", l)
			}
			say(".")
		case "DELE":
			var n int
			fmt.Sscan(f[1], &n)
			deleted[n] = true
			say("+OK")
		case "QUIT":
			h.mu.Lock()
			for n := range deleted {
				m := snapshot[n-1]
				for i, x := range h.inbox.Messages {
					if x == m {
						h.inbox.Messages = append(h.inbox.Messages[:i], h.inbox.Messages[i+1:]...)
						break
					}
				}
			}
			h.mu.Unlock()
			say("+OK bye")
			return
		default:
			say("-ERR unknown command")
		}
	}
}
