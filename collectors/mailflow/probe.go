// Package mailflow is msguard's mail-flow probe: it does what an
// administrator does after an upgrade, send a message and read it back.
// It submits a uniquely tagged message over SMTP to the install's
// dispatcher, watches it leave the queue, fetches it over IMAP (and POP3
// when the install serves it) and deletes it, measuring each leg. Every
// session uses STARTTLS (STLS) when the server offers it, verified with
// the operator's CA file like the directory's. The probe always tries to
// delete its message, also when a leg failed, and says whether it did.
// Its outcome is a facts.MailFlow; the probe account's password never
// appears in it.
package mailflow

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// DefaultTimeout bounds the wait for delivery when Config.Timeout is 0.
const DefaultTimeout = 60 * time.Second

// Account is the probe account: a mailbox whose owner expects probes.
type Account struct {
	User     string // IMAP/POP3 login (the directory uid)
	Password string
	Address  string // its mail address, the probe's sender and recipient
}

// Config says where the probe goes and how long it may wait.
type Config struct {
	Account Account
	// SMTP and IMAP are the dispatcher's and the IMAP server's host:port.
	SMTP, IMAP string
	// POP3 is the POP3 server's host:port; "" when POP3 is not served,
	// POP3Off saying why.
	POP3, POP3Off string
	// HeloName is the name the probe gives in EHLO ("" = "localhost").
	HeloName string
	// TLS returns the TLS configuration for a server name (the operator's
	// CA file, or insecure); nil means the system roots.
	TLS func(serverName string) (*tls.Config, error)
	// Queue finds and removes the probe's message in the MTA queue.
	Queue Queue
	// Timeout bounds the wait for delivery and, separately, for the
	// message to show in the mailbox (0 = DefaultTimeout). Each protocol
	// command is bounded by CommandTimeout (0 = 30s).
	Timeout, CommandTimeout time.Duration
	// Poll is the pause between two looks at the queue or the mailbox
	// (0 = 200ms).
	Poll time.Duration
}

// Queue is the MTA's queue as the probe needs it: the files holding the
// tagged message, and their removal.
type Queue interface {
	Find(ctx context.Context, tag string) ([]string, error)
	Remove(path string) error
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

func (c *Config) commandTimeout() time.Duration {
	if c.CommandTimeout > 0 {
		return c.CommandTimeout
	}
	return 30 * time.Second
}

func (c *Config) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 200 * time.Millisecond
}

func (c *Config) tlsConfig(addr string) (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(addr)
	if c.TLS == nil {
		return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}, nil
	}
	return c.TLS(host)
}

// message is the probe message: its tag is in the subject and the
// Message-ID, so that it can be found in the queue and the mailbox and
// told from any other message.
type message struct {
	tag, id, subject string
}

func newMessage(address string) message {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	tag := "msguard-probe-" + hex.EncodeToString(b)
	domain := "localhost"
	if _, d, ok := strings.Cut(address, "@"); ok && d != "" {
		domain = d
	}
	return message{tag: tag, id: "<" + tag + "@" + domain + ">", subject: "msguard mail-flow probe " + tag}
}

// text is the message as submitted (CRLF line ends).
func (m message) text(from, to string, now time.Time) string {
	return strings.Join([]string{
		"From: msguard probe <" + from + ">",
		"To: <" + to + ">",
		"Subject: " + m.subject,
		"Message-ID: " + m.id,
		"Date: " + now.Format(time.RFC1123Z),
		"MIME-Version: 1.0",
		"Content-Type: text/plain; charset=us-ascii",
		"",
		"This message was sent by msguard's mail-flow probe (" + m.tag + ").",
		"msguard deletes it once read; if you see it, the probe could not.",
		"",
	}, "\r\n")
}

// Run probes the mail flow once. It never fails as a whole: each leg's
// outcome is in the result, and so is the cleanup's.
func Run(ctx context.Context, cfg Config) *facts.MailFlow {
	msg := newMessage(cfg.Account.Address)
	mf := &facts.MailFlow{User: cfg.Account.User, Address: cfg.Account.Address, Tag: msg.tag}
	p := &probe{cfg: cfg, msg: msg, mf: mf}

	mf.Submit = p.submit(ctx)
	if mf.Submit.Result != facts.LegOK {
		mf.Delivery = notRun("the submit leg failed")
	} else {
		mf.Delivery = p.deliver(ctx, p.accepted)
	}
	delivered := mf.Delivery.Result == facts.LegOK
	if delivered {
		mf.IMAP = p.fetchIMAP(ctx)
	} else {
		mf.IMAP = notRun(fmt.Sprintf("the %s leg failed", failedLeg(mf)))
	}
	switch {
	case cfg.POP3 == "":
		why := cfg.POP3Off
		if why == "" {
			why = "POP3 is not served"
		}
		mf.POP3 = notRun(why)
	case delivered:
		mf.POP3 = p.fetchPOP3(ctx)
	default:
		mf.POP3 = notRun(fmt.Sprintf("the %s leg failed", failedLeg(mf)))
	}
	mf.Cleanup = p.cleanup(ctx)
	return mf
}

// failedLeg names the first leg that failed.
func failedLeg(mf *facts.MailFlow) string {
	switch {
	case mf.Submit != nil && mf.Submit.Result == facts.LegFailed:
		return "submit"
	case mf.Delivery != nil && mf.Delivery.Result == facts.LegFailed:
		return "delivery"
	}
	return "previous"
}

func notRun(why string) *facts.MailFlowLeg {
	return &facts.MailFlowLeg{Result: facts.LegNotRun, Detail: why}
}

// probe is one run of the probe.
type probe struct {
	cfg Config
	msg message
	mf  *facts.MailFlow
	// accepted is when the dispatcher accepted the message (its reply to
	// the end of DATA): the delivery leg's start.
	accepted time.Time
	// pop3Deleted is whether the POP3 leg deleted the message.
	pop3Deleted bool
}

func (p *probe) server(s facts.MailServer) { p.mf.Servers = append(p.mf.Servers, s) }

// deliver waits until no queue file holds the message: it has left the
// queue for the store (or somewhere else: the fetch legs tell).
func (p *probe) deliver(ctx context.Context, submitted time.Time) *facts.MailFlowLeg {
	leg := &facts.MailFlowLeg{}
	if p.cfg.Queue == nil {
		leg.Result, leg.Error = facts.LegFailed, "no queue to watch"
		return leg
	}
	deadline := submitted.Add(p.cfg.timeout())
	var last []string
	seen := false
	for {
		files, err := p.cfg.Queue.Find(ctx, p.msg.tag)
		if err != nil {
			leg.Result, leg.Error = facts.LegFailed, "read the queue: "+err.Error()
			leg.LatencyMS = ms(time.Since(submitted))
			return leg
		}
		if len(files) == 0 {
			leg.Result, leg.LatencyMS = facts.LegOK, ms(time.Since(submitted))
			leg.Detail = "left the queue"
			if seen {
				leg.Detail += " (queued in " + strings.Join(channels(last), ", ") + ")"
			} else {
				leg.Detail += " before the first look at it"
			}
			return leg
		}
		seen, last = true, files
		if time.Now().After(deadline) || ctx.Err() != nil {
			leg.Result, leg.LatencyMS = facts.LegFailed, ms(time.Since(submitted))
			leg.Error = fmt.Sprintf("still queued after %s in %s (the MTA does not deliver)",
				p.cfg.timeout(), strings.Join(channels(files), ", "))
			leg.Detail = strings.Join(files, ", ")
			return leg
		}
		if !sleep(ctx, p.cfg.poll()) {
			continue
		}
	}
}

// channels names the queue channels of files (their paths relative to the
// queue directory start with the channel).
func channels(files []string) []string {
	var out []string
	for _, f := range files {
		ch, _, _ := strings.Cut(f, "/")
		if !contains(out, ch) {
			out = append(out, ch)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// cleanup makes sure the message is gone: from the queue (a message the
// MTA did not deliver), then from the mailbox over IMAP, or POP3 when
// IMAP cannot be used.
func (p *probe) cleanup(ctx context.Context) *facts.MailCleanup {
	c := &facts.MailCleanup{Clean: true}
	var errs []string
	if p.cfg.Queue != nil {
		files, err := p.cfg.Queue.Find(ctx, p.msg.tag)
		if err != nil {
			errs = append(errs, "queue: "+err.Error())
		}
		for _, f := range files {
			if err := p.cfg.Queue.Remove(f); err != nil {
				errs = append(errs, "queue: "+err.Error())
				continue
			}
			c.Actions = append(c.Actions, "queue: removed "+f)
		}
	}
	n, imapErr := p.deleteIMAP(ctx)
	if imapErr == nil {
		if n > 0 {
			c.Actions = append(c.Actions, fmt.Sprintf("imap: deleted %d message(s) and expunged", n))
		}
	} else if p.cfg.POP3 != "" {
		m, popErr := p.deletePOP3(ctx)
		if popErr != nil {
			errs = append(errs, "imap: "+imapErr.Error(), "pop3: "+popErr.Error())
		} else if m > 0 {
			c.Actions = append(c.Actions, fmt.Sprintf("pop3: deleted %d message(s)", m))
		}
	} else {
		errs = append(errs, "imap: "+imapErr.Error())
	}
	if p.pop3Deleted {
		c.Actions = append([]string{"pop3: deleted the message after reading it"}, c.Actions...)
	}
	if len(errs) > 0 {
		c.Clean = false
		c.Error = strings.Join(errs, "; ")
	}
	return c
}

// sleep waits d or until ctx ends; it reports whether ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return true
	case <-t.C:
		return false
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// dial opens a TCP connection bounded by the command timeout and ctx.
func (p *probe) dial(ctx context.Context, addr string) (net.Conn, error) {
	d := net.Dialer{Timeout: p.cfg.commandTimeout()}
	return d.DialContext(ctx, "tcp", addr)
}

// firstLineConn records the first line the server sends (its greeting)
// before the protocol library reads it.
type firstLineConn struct {
	net.Conn
	line []byte
	done bool
}

func (c *firstLineConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.done {
		for _, x := range b[:n] {
			if x == '\n' || len(c.line) >= 512 {
				c.done = true
				break
			}
			c.line = append(c.line, x)
		}
	}
	return n, err
}

func (c *firstLineConn) greeting() string { return strings.TrimRight(string(c.line), "\r") }

// redact removes the probe password from a server's words (a server that
// echoes the command it refused).
func (p *probe) redact(s string) string {
	s = strings.TrimSpace(s)
	if pw := p.cfg.Account.Password; pw != "" {
		s = strings.ReplaceAll(s, pw, "<redacted>")
	}
	return s
}
