// Package ldapdial opens every LDAP connection msguard makes (the
// collectors, the LDIF export, the upgrade steps), so that they all reach
// a directory the same way: an ldap://, ldaps:// or ldapi:// URL; StartTLS
// when asked, a server that refuses it being an error, never a plaintext
// fallback; TLS 1.2 at least, the server name checked against the
// operator's CA file or the system roots; the dial bounded by a timeout
// and the connection closed when the caller's context ends. Its errors
// name the server's address (host:port) and say "timed out" when a
// deadline ended the operation; none ever holds a password.
package ldapdial

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/go-ldap/ldap/v3"
)

// DefaultTimeout bounds a dial (and each request of a Dial connection)
// when Target.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Target is a directory server to connect to, and how.
type Target struct {
	URL string // ldap://host[:389], ldaps://host[:636] or ldapi://path; a base DN after the host is ignored
	// StartTLS upgrades an ldap:// connection before anything else is
	// sent; with ldaps:// the connection is TLS already and it changes
	// nothing.
	StartTLS bool
	CA       string // PEM file of the CAs to trust ("" = the system roots)
	// InsecureSkipVerify accepts any server certificate (the operator's
	// explicit --insecure-skip-verify).
	InsecureSkipVerify bool
	// Timeout bounds the dial with its TLS setup and, on a Dial
	// connection, each request; 0 is DefaultTimeout. The context's
	// deadline wins when it is sooner.
	Timeout time.Duration
}

func (t Target) timeout() time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return DefaultTimeout
}

// Conn is a connection DialNet opened: TLS over the socket when the
// target asks for TLS, else the socket (as wrap returned it).
type Conn struct {
	net.Conn
	// TLS is whether the connection is encrypted (ldaps:// or StartTLS).
	TLS bool
	// Addr is the server's address, as errors name it.
	Addr   string
	socket net.Conn
	stop   func() bool
	once   sync.Once
}

// Close closes the connection and the socket under it, and stops
// watching the context.
func (c *Conn) Close() error {
	err := net.ErrClosed
	c.once.Do(func() {
		c.stop()
		err = c.Conn.Close()
		c.socket.Close()
	})
	return err
}

// Dial opens a go-ldap connection to t (see DialNet), its requests bounded
// by t's timeout and by ctx's deadline. It does not bind: see Bind.
func Dial(ctx context.Context, t Target) (*ldap.Conn, error) {
	c, err := DialNet(ctx, t, nil)
	if err != nil {
		return nil, err
	}
	l := ldap.NewConn(c, c.TLS)
	l.Start()
	timeout := t.timeout()
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(min(timeout, time.Until(dl)), time.Millisecond)
	}
	l.SetTimeout(timeout)
	return l, nil
}

// DialNet connects to t within its timeout and sets up TLS as t asks:
// the TLS handshake for ldaps://, or the StartTLS extended operation and
// the handshake for StartTLS (a refusal is an error, and nothing but the
// StartTLS request is sent before the handshake). wrap, when not nil, is
// given the socket and returns the connection TLS runs over (for a
// client's own buffering); the returned Conn's Close closes the socket.
//
// The connection is closed when ctx ends, and its deadline is ctx's (none
// without one): a server that accepts and never answers cannot hold the
// caller past it.
func DialNet(ctx context.Context, t Target, wrap func(net.Conn) net.Conn) (*Conn, error) {
	a, err := ParseURL(t.URL)
	if err != nil {
		return nil, fmt.Errorf("directory url %q: %w", t.URL, err)
	}
	useTLS := a.Scheme == "ldaps" || t.StartTLS
	var cfg *tls.Config
	if useTLS {
		if cfg, err = TLSConfig(a.Host, t.CA, t.InsecureSkipVerify); err != nil {
			return nil, err
		}
	}
	dctx, cancel := context.WithTimeout(ctx, t.timeout())
	defer cancel()
	var d net.Dialer
	socket, err := d.DialContext(dctx, a.Network, a.Address)
	if err != nil {
		return nil, connectError(dctx, a.Address, err)
	}
	c := &Conn{Conn: socket, Addr: a.Address, socket: socket}
	c.stop = context.AfterFunc(ctx, func() { socket.Close() })
	if wrap != nil {
		c.Conn = wrap(socket)
	}
	fail := func(op string, err error) (*Conn, error) {
		c.Close()
		return nil, opError(dctx, op+" "+a.Address, err)
	}
	dl, _ := dctx.Deadline()
	if err := c.SetDeadline(dl); err != nil {
		return fail("connect", err)
	}
	if useTLS {
		op := "tls handshake with"
		if a.Scheme != "ldaps" {
			op = "starttls with"
			if err := startTLS(c.Conn); err != nil {
				return fail(op, err)
			}
		}
		tc := tls.Client(c.Conn, cfg)
		if err := tc.HandshakeContext(dctx); err != nil {
			return fail(op, err)
		}
		c.Conn, c.TLS = tc, true
	}
	dl, _ = ctx.Deadline()
	if err := c.SetDeadline(dl); err != nil {
		return fail("connect", err)
	}
	return c, nil
}

// OIDStartTLS names the StartTLS extended operation (RFC 4511 4.14.1).
const OIDStartTLS = "1.3.6.1.4.1.1466.20037"

// startTLSMessageID is the message ID of the StartTLS request, the first
// message of a session.
const startTLSMessageID = 1

// startTLSMaxResponse bounds the StartTLS response read.
const startTLSMaxResponse = 64 << 10

// startTLS sends the StartTLS extended request (RFC 4511 4.14) and reads
// its response. The response is read straight off conn, without a buffer,
// so that nothing the server sends after it can be taken for data that
// came over TLS.
func startTLS(conn net.Conn) error {
	req := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(startTLSMessageID), "MessageID"))
	ext := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ldap.ApplicationExtendedRequest, nil, "Start TLS")
	ext.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, OIDStartTLS, "TLS Extended Command"))
	req.AppendChild(ext)
	if _, err := conn.Write(req.Bytes()); err != nil {
		return err
	}
	resp, err := ber.ReadPacket(io.LimitReader(conn, startTLSMaxResponse))
	if err != nil {
		if err == io.EOF {
			err = errors.New("the server closed the connection")
		}
		return err
	}
	if len(resp.Children) < 2 || resp.Children[1].ClassType != ber.ClassApplication || resp.Children[1].Tag != ldap.ApplicationExtendedResponse {
		return errors.New("the server's answer to StartTLS is not an extended response")
	}
	if id, _ := resp.Children[0].Value.(int64); id != startTLSMessageID && id != 0 {
		return fmt.Errorf("the server answered StartTLS with message ID %d", id)
	}
	if err := ldap.GetLDAPError(resp); err != nil {
		var le *ldap.Error
		if errors.As(err, &le) && le.ResultCode < ldap.ErrorNetwork {
			// The server answered the StartTLS request itself with an error
			// (a notice of disconnection, message ID 0, is one too).
			return fmt.Errorf("the server does not offer StartTLS (%w); nothing is sent in plaintext: enable TLS on the server or use an ldaps:// URL", err)
		}
		return err
	}
	return nil
}

// connectError names a failed connect, saying "timed out" and "connection
// refused" without the dialer's wording around them.
func connectError(ctx context.Context, addr string, err error) error {
	op := "connect " + addr
	if ctx.Err() != nil {
		return opError(ctx, op, err)
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("%s: connection refused", op)
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		err = oe.Err
	}
	return opError(ctx, op, err)
}

// opError names a failed operation, saying "timed out" when a deadline
// ended it and "context canceled" when the caller's context did; either
// is in the chain for errors.Is.
func opError(ctx context.Context, op string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		return fmt.Errorf("%s: %w", op, ctx.Err())
	case ctx.Err() != nil, errors.Is(err, os.ErrDeadlineExceeded):
		return fmt.Errorf("%s: %w", op, timedOut{})
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return fmt.Errorf("%s: %w", op, timedOut{})
	}
	return fmt.Errorf("%s: %w", op, err)
}

// timedOut reads "timed out"; it is both context.DeadlineExceeded and
// os.ErrDeadlineExceeded (the context's deadline and the socket's are
// the same, and either may fire first).
type timedOut struct{}

func (timedOut) Error() string   { return "timed out" }
func (timedOut) Unwrap() []error { return []error{context.DeadlineExceeded, os.ErrDeadlineExceeded} }
func (timedOut) Timeout() bool   { return true }
