package mailflow

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/msguard/msguard/collectors/facts"
)

// submit hands the message to the dispatcher: EHLO, STARTTLS when offered,
// MAIL FROM and RCPT TO the probe address, DATA. No authentication: the
// recipient is local, as for any mail the host accepts.
func (p *probe) submit(ctx context.Context) *facts.MailFlowLeg {
	addr := p.cfg.SMTP
	leg := &facts.MailFlowLeg{Server: addr}
	start := time.Now()
	fail := func(what string, err error) *facts.MailFlowLeg {
		leg.Result, leg.LatencyMS = facts.LegFailed, ms(time.Since(start))
		leg.Error = what
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			leg.Reply = p.redact(smtpReply(se))
		} else if err != nil {
			leg.Error += ": " + p.redact(err.Error())
		}
		return leg
	}
	server := facts.MailServer{Protocol: "smtp", Address: addr}
	c, tlsOn, err := p.smtpSession(ctx, addr, &server)
	p.server(server)
	if err != nil {
		return fail("connect", err)
	}
	defer c.Close()
	leg.TLS = tlsOn
	from := p.cfg.Account.Address
	if err := c.Mail(from, nil); err != nil {
		return fail("MAIL FROM:<"+from+"> refused", err)
	}
	if err := c.Rcpt(from, nil); err != nil {
		return fail("RCPT TO:<"+from+"> refused", err)
	}
	w, err := c.Data()
	if err != nil {
		return fail("DATA refused", err)
	}
	if _, err := w.Write([]byte(p.msg.text(from, from, time.Now()))); err != nil {
		return fail("send the message", err)
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return fail("the message was refused", err)
	}
	p.accepted = time.Now()
	leg.Result, leg.LatencyMS = facts.LegOK, ms(time.Since(start))
	leg.Detail = "accepted: 250 " + p.redact(resp.StatusText)
	_ = c.Quit()
	return leg
}

// smtpSession connects and says EHLO; when the server offers STARTTLS it
// connects again and upgrades before EHLO (the library upgrades only a
// fresh session). server gets the greeting and the capabilities of the
// session used.
func (p *probe) smtpSession(ctx context.Context, addr string, server *facts.MailServer) (*smtp.Client, bool, error) {
	open := func() (*smtp.Client, *firstLineConn, *captureWriter, error) {
		conn, err := p.dial(ctx, addr)
		if err != nil {
			return nil, nil, nil, err
		}
		fc := &firstLineConn{Conn: conn}
		return smtp.NewClient(fc), fc, &captureWriter{}, nil
	}
	c, fc, capture, err := open()
	if err != nil {
		return nil, false, err
	}
	p.timeouts(c)
	c.DebugWriter = capture
	err = c.Hello(p.helo())
	server.Greeting = p.redact(fc.greeting())
	server.Capabilities = capture.ehlo()
	c.DebugWriter = nil
	if err != nil {
		c.Close()
		return nil, false, fmt.Errorf("EHLO: %w", err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return c, false, nil
	}
	_ = c.Quit()
	cfg, err := p.cfg.tlsConfig(addr)
	if err != nil {
		return nil, false, err
	}
	conn, err := p.dial(ctx, addr)
	if err != nil {
		return nil, false, err
	}
	tc, err := smtp.NewClientStartTLS(conn, cfg)
	if err != nil {
		return nil, false, fmt.Errorf("STARTTLS: %w", err)
	}
	p.timeouts(tc)
	capture = &captureWriter{}
	tc.DebugWriter = capture
	err = tc.Hello(p.helo())
	tc.DebugWriter = nil
	if err != nil {
		tc.Close()
		return nil, true, fmt.Errorf("EHLO after STARTTLS: %w", err)
	}
	server.Capabilities = capture.ehlo()
	return tc, true, nil
}

func (p *probe) timeouts(c *smtp.Client) {
	c.CommandTimeout = p.cfg.commandTimeout()
	c.SubmissionTimeout = p.cfg.commandTimeout()
}

func (p *probe) helo() string {
	if p.cfg.HeloName != "" {
		return p.cfg.HeloName
	}
	return "localhost"
}

// smtpReply renders the server's reply as it sent it ("550 5.7.1 ...").
func smtpReply(se *smtp.SMTPError) string {
	code := fmt.Sprint(se.Code)
	if e := se.EnhancedCode; e != (smtp.EnhancedCode{}) && e != smtp.NoEnhancedCode && e[0] > 0 {
		code += fmt.Sprintf(" %d.%d.%d", e[0], e[1], e[2])
	}
	return code + " " + strings.ReplaceAll(se.Message, "\n", " / ")
}

// captureWriter keeps the opening of an SMTP session (greeting, EHLO and
// its reply: no secrets are sent before MAIL), at most 16 KiB.
type captureWriter struct{ buf bytes.Buffer }

func (w *captureWriter) Write(b []byte) (int, error) {
	if w.buf.Len()+len(b) <= 16<<10 {
		w.buf.Write(b)
	}
	return len(b), nil
}

// ehlo returns the extensions of the last EHLO reply: its 250 lines but
// the first (the server's name).
func (w *captureWriter) ehlo() []string {
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
	inReply := false
	first := false
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		upper := strings.ToUpper(line)
		if strings.HasPrefix(upper, "EHLO ") {
			out, inReply, first = nil, true, true
			continue
		}
		if !inReply || len(line) < 4 || !strings.HasPrefix(line, "250") {
			continue
		}
		if first {
			first = false
		} else {
			out = append(out, line[4:])
		}
		if line[3] == ' ' {
			inReply = false
		}
	}
	return out
}
