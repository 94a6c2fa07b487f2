package mailflow

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// No POP3 client library is served to this project; POP3 (RFC 1939, with
// CAPA and STLS of RFC 2449/2595) is small enough: pop3Client speaks the
// commands the probe needs.

// fetchPOP3 logs in, finds the message among the last 200 of the
// maildrop (TOP n 0), reads it (RETR) and deletes it (DELE, QUIT).
func (p *probe) fetchPOP3(ctx context.Context) *facts.MailFlowLeg {
	addr := p.cfg.POP3
	leg := &facts.MailFlowLeg{Server: addr}
	start := time.Now()
	fail := func(err error) *facts.MailFlowLeg {
		leg.Result, leg.LatencyMS = facts.LegFailed, ms(time.Since(start))
		if pe, ok := err.(*popError); ok {
			leg.Error, leg.Reply = pe.op+" failed", p.redact(pe.reply)
		} else {
			leg.Error = p.redact(err.Error())
		}
		return leg
	}
	c, err := p.pop3Session(ctx, addr, true, leg)
	if err != nil {
		return fail(err)
	}
	defer c.close()
	nums, err := c.find(p.msg)
	if err != nil {
		return fail(err)
	}
	if len(nums) == 0 {
		return fail(&popError{op: "TOP", reply: "the message is not in the maildrop"})
	}
	body, err := c.multi("RETR %d", nums[0])
	if err != nil {
		return fail(err)
	}
	if !strings.Contains(body, p.msg.tag) {
		return fail(&popError{op: "RETR", reply: "the message read does not hold the probe's tag"})
	}
	for _, n := range nums {
		if _, err := c.cmd("DELE %d", n); err != nil {
			return fail(err)
		}
	}
	if _, err := c.cmd("QUIT"); err != nil {
		return fail(err)
	}
	p.pop3Deleted = true
	leg.Result, leg.LatencyMS = facts.LegOK, ms(time.Since(start))
	leg.Detail = fmt.Sprintf("read message %d of the maildrop (%d bytes) and deleted it", nums[0], len(body))
	return leg
}

// deletePOP3 deletes every copy of the message over POP3 (the cleanup
// when IMAP cannot be used).
func (p *probe) deletePOP3(ctx context.Context) (int, error) {
	c, err := p.pop3Session(ctx, p.cfg.POP3, false, &facts.MailFlowLeg{})
	if err != nil {
		return 0, err
	}
	defer c.close()
	nums, err := c.find(p.msg)
	if err != nil {
		return 0, err
	}
	for _, n := range nums {
		if _, err := c.cmd("DELE %d", n); err != nil {
			return 0, err
		}
	}
	if _, err := c.cmd("QUIT"); err != nil {
		return 0, err
	}
	return len(nums), nil
}

// pop3Session connects, upgrades with STLS when CAPA lists it and logs in
// with USER and PASS.
func (p *probe) pop3Session(ctx context.Context, addr string, record bool, leg *facts.MailFlowLeg) (*pop3Client, error) {
	conn, err := p.dial(ctx, addr)
	if err != nil {
		return nil, &popError{op: "connect", reply: err.Error()}
	}
	c := &pop3Client{conn: conn, tp: textproto.NewConn(conn), timeout: p.cfg.commandTimeout()}
	c.stop = context.AfterFunc(ctx, func() { conn.Close() })
	server := facts.MailServer{Protocol: "pop3", Address: addr}
	ok := false
	defer func() {
		if record {
			p.server(server)
		}
		if !ok {
			c.close()
		}
	}()
	greeting, err := c.response()
	server.Greeting = p.redact("+OK " + greeting)
	if err != nil {
		server.Greeting = ""
		return nil, err
	}
	caps, capErr := c.multi("CAPA")
	if capErr == nil {
		server.Capabilities = lines(caps)
	}
	if contains(server.Capabilities, "STLS") {
		cfg, err := p.cfg.tlsConfig(addr)
		if err != nil {
			return nil, &popError{op: "STLS", reply: err.Error()}
		}
		if err := c.startTLS(cfg); err != nil {
			return nil, err
		}
		leg.TLS = true
		if caps, err := c.multi("CAPA"); err == nil {
			server.Capabilities = lines(caps)
		}
	}
	if _, err := c.cmd("USER %s", p.cfg.Account.User); err != nil {
		return nil, err
	}
	if _, err := c.cmd("PASS %s", p.cfg.Account.Password); err != nil {
		err.(*popError).op = "PASS (login as " + p.cfg.Account.User + ")"
		return nil, err
	}
	ok = true
	return c, nil
}

func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// pop3Client is one POP3 session.
type pop3Client struct {
	conn    net.Conn
	tp      *textproto.Conn
	timeout time.Duration
	stop    func() bool
}

// popError is a command the server refused (-ERR) or that failed.
type popError struct{ op, reply string }

func (e *popError) Error() string { return e.op + ": " + e.reply }

func (c *pop3Client) close() {
	c.stop()
	c.tp.Close()
}

// cmd sends one command and reads its +OK line; the password never goes
// into an error.
func (c *pop3Client) cmd(format string, args ...any) (string, error) {
	op, _, _ := strings.Cut(format, " ")
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	if err := c.tp.PrintfLine(format, args...); err != nil {
		return "", &popError{op: op, reply: err.Error()}
	}
	s, err := c.response()
	if pe, ok := err.(*popError); ok {
		pe.op = op
	}
	return s, err
}

// response reads a +OK/-ERR status line.
func (c *pop3Client) response() (string, error) {
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	line, err := c.tp.ReadLine()
	if err != nil {
		return "", &popError{op: "read", reply: err.Error()}
	}
	switch {
	case strings.HasPrefix(line, "+OK"):
		return strings.TrimSpace(strings.TrimPrefix(line, "+OK")), nil
	case strings.HasPrefix(line, "-ERR"):
		return "", &popError{reply: line}
	default:
		return "", &popError{reply: "not a POP3 status line: " + line}
	}
}

// multi sends a command whose answer is a dot-terminated block.
func (c *pop3Client) multi(format string, args ...any) (string, error) {
	if _, err := c.cmd(format, args...); err != nil {
		return "", err
	}
	b, err := c.tp.ReadDotBytes()
	if err != nil {
		op, _, _ := strings.Cut(format, " ")
		return "", &popError{op: op, reply: err.Error()}
	}
	return string(b), nil
}

func (c *pop3Client) startTLS(cfg *tls.Config) error {
	if _, err := c.cmd("STLS"); err != nil {
		return err
	}
	tc := tls.Client(c.conn, cfg)
	_ = c.conn.SetDeadline(time.Now().Add(c.timeout))
	if err := tc.Handshake(); err != nil {
		return &popError{op: "STLS", reply: err.Error()}
	}
	c.conn = tc
	c.tp = textproto.NewConn(tc)
	return nil
}

// find returns the numbers of the messages, among the last 200 of the
// maildrop, whose headers hold the probe's Message-ID.
func (c *pop3Client) find(m message) ([]int, error) {
	stat, err := c.cmd("STAT")
	if err != nil {
		return nil, err
	}
	f := strings.Fields(stat)
	if len(f) == 0 {
		return nil, &popError{op: "STAT", reply: "no message count in +OK " + stat}
	}
	count, err := strconv.Atoi(f[0])
	if err != nil {
		return nil, &popError{op: "STAT", reply: "no message count in +OK " + stat}
	}
	var out []int
	for n := count; n >= 1 && n > count-200; n-- {
		head, err := c.multi("TOP %d 0", n)
		if err != nil {
			return nil, err
		}
		if strings.Contains(head, m.id) {
			out = append(out, n)
		}
	}
	return out, nil
}
