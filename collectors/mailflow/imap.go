package mailflow

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/client"
	"github.com/msguard/msguard/collectors/facts"
)

// fetchIMAP logs in, waits (bounded) for the message in INBOX and reads
// it. It does not delete it: POP3 reads it next, and cleanup deletes it.
func (p *probe) fetchIMAP(ctx context.Context) *facts.MailFlowLeg {
	addr := p.cfg.IMAP
	leg := &facts.MailFlowLeg{Server: addr}
	start := time.Now()
	c, err := p.imapSession(ctx, addr, true, leg)
	if err != nil {
		return imapFailed(leg, start, err)
	}
	defer c.close()
	deadline := time.Now().Add(p.cfg.timeout())
	looks := 0
	for {
		looks++
		uids, err := c.find(p.msg)
		if err != nil {
			return imapFailed(leg, start, err)
		}
		if len(uids) > 0 {
			body, err := c.read(uids[0])
			if err != nil {
				return imapFailed(leg, start, err)
			}
			if !strings.Contains(body, p.msg.tag) {
				return imapFailed(leg, start, &imapError{op: "FETCH", reply: "the message read does not hold the probe's tag"})
			}
			leg.Result, leg.LatencyMS = facts.LegOK, ms(time.Since(start))
			leg.Detail = fmt.Sprintf("read from INBOX (uid %d, %d bytes, found at look %d)", uids[0], len(body), looks)
			return leg
		}
		if time.Now().After(deadline) || sleep(ctx, p.cfg.poll()) {
			return imapFailed(leg, start, &imapError{op: "SEARCH",
				reply: fmt.Sprintf("the message is not in INBOX after %s (%d looks)", p.cfg.timeout(), looks)})
		}
		// A new look needs the server to report new messages: NOOP.
		if err := c.c.Noop(); err != nil {
			return imapFailed(leg, start, &imapError{op: "NOOP", err: err})
		}
	}
}

// deleteIMAP deletes every copy of the message in INBOX (STORE \Deleted,
// EXPUNGE) and looks again: it returns how many it deleted, and an error
// when it could not log in or the message is still there.
func (p *probe) deleteIMAP(ctx context.Context) (int, error) {
	leg := &facts.MailFlowLeg{}
	c, err := p.imapSession(ctx, p.cfg.IMAP, false, leg)
	if err != nil {
		return 0, err
	}
	defer c.close()
	uids, err := c.find(p.msg)
	if err != nil {
		return 0, err
	}
	if len(uids) > 0 {
		set := new(imap.SeqSet)
		set.AddNum(uids...)
		item := imap.FormatFlagsOp(imap.AddFlags, true)
		if err := c.c.UidStore(set, item, []interface{}{imap.DeletedFlag}, nil); err != nil {
			return 0, &imapError{op: "STORE", err: err}
		}
		if err := c.c.Expunge(nil); err != nil {
			return 0, &imapError{op: "EXPUNGE", err: err}
		}
	}
	left, err := c.find(p.msg)
	if err != nil {
		return len(uids), err
	}
	if len(left) > 0 {
		return len(uids), fmt.Errorf("%d probe message(s) still in INBOX after EXPUNGE", len(left))
	}
	return len(uids), nil
}

// imapConn is a logged-in session with INBOX selected.
type imapConn struct {
	c    *client.Client
	stop func() bool
}

// close logs out (LOGOUT, never CLOSE: CLOSE expunges) and drops the
// connection.
func (c *imapConn) close() {
	c.stop()
	_ = c.c.Logout()
	_ = c.c.Terminate()
}

// imapSession connects, upgrades with STARTTLS when offered, logs in and
// selects INBOX read-write. With record, the greeting and capabilities
// are kept as a server of the probe.
func (p *probe) imapSession(ctx context.Context, addr string, record bool, leg *facts.MailFlowLeg) (*imapConn, error) {
	conn, err := p.dial(ctx, addr)
	if err != nil {
		return nil, &imapError{op: "connect", err: err}
	}
	fc := &firstLineConn{Conn: conn}
	c, err := client.New(fc)
	server := facts.MailServer{Protocol: "imap", Address: addr, Greeting: p.redact(fc.greeting())}
	if err != nil {
		conn.Close()
		if record {
			p.server(server)
		}
		return nil, &imapError{op: "greeting", err: err}
	}
	c.Timeout = p.cfg.commandTimeout()
	stop := context.AfterFunc(ctx, func() { _ = c.Terminate() })
	ok := false
	defer func() {
		if record {
			p.server(server)
		}
		if !ok {
			stop()
			_ = c.Logout()
			_ = c.Terminate()
		}
	}()
	if tlsOK, _ := c.SupportStartTLS(); tlsOK {
		cfg, err := p.cfg.tlsConfig(addr)
		if err != nil {
			return nil, &imapError{op: "STARTTLS", err: err}
		}
		if err := c.StartTLS(cfg); err != nil {
			return nil, &imapError{op: "STARTTLS", err: err}
		}
		leg.TLS = true
	}
	if caps, err := c.Capability(); err == nil {
		for k := range caps {
			server.Capabilities = append(server.Capabilities, k)
		}
		sort.Strings(server.Capabilities)
	}
	if err := c.Login(p.cfg.Account.User, p.cfg.Account.Password); err != nil {
		return nil, &imapError{op: "LOGIN as " + p.cfg.Account.User, err: err, redact: p.redact}
	}
	if _, err := c.Select("INBOX", false); err != nil {
		return nil, &imapError{op: "SELECT INBOX", err: err}
	}
	ok = true
	return &imapConn{c: c, stop: stop}, nil
}

// find returns the UIDs of the messages of INBOX with the probe's
// Message-ID; a server whose SEARCH fails is asked for the envelopes of
// its last 200 messages instead.
func (c *imapConn) find(m message) ([]uint32, error) {
	crit := imap.NewSearchCriteria()
	crit.Header.Add("Message-Id", m.id)
	uids, err := c.c.UidSearch(crit)
	if err == nil {
		return uids, nil
	}
	mbox := c.c.Mailbox()
	if mbox == nil || mbox.Messages == 0 {
		return nil, nil
	}
	from := uint32(1)
	if mbox.Messages > 200 {
		from = mbox.Messages - 199
	}
	set := new(imap.SeqSet)
	set.AddRange(from, mbox.Messages)
	ch := make(chan *imap.Message, 16)
	done := make(chan error, 1)
	go func() { done <- c.c.Fetch(set, []imap.FetchItem{imap.FetchEnvelope, imap.FetchUid}, ch) }()
	var out []uint32
	for msg := range ch {
		if msg.Envelope != nil && (msg.Envelope.MessageId == m.id || strings.Contains(msg.Envelope.Subject, m.tag)) {
			out = append(out, msg.Uid)
		}
	}
	if err := <-done; err != nil {
		return nil, &imapError{op: "FETCH ENVELOPE", err: err}
	}
	return out, nil
}

// read returns the whole message with UID uid.
func (c *imapConn) read(uid uint32) (string, error) {
	set := new(imap.SeqSet)
	set.AddNum(uid)
	section := &imap.BodySectionName{Peek: true}
	ch := make(chan *imap.Message, 1)
	done := make(chan error, 1)
	go func() { done <- c.c.UidFetch(set, []imap.FetchItem{section.FetchItem()}, ch) }()
	var body string
	for msg := range ch {
		if lit := msg.GetBody(section); lit != nil {
			b, _ := io.ReadAll(io.LimitReader(lit, 1<<20))
			body = string(b)
		}
	}
	if err := <-done; err != nil {
		return "", &imapError{op: "FETCH", err: err}
	}
	return body, nil
}

// imapError is a failed IMAP step: the command, and the server's words.
type imapError struct {
	op     string
	reply  string
	err    error
	redact func(string) string
}

func (e *imapError) Error() string {
	r := e.reply
	if r == "" && e.err != nil {
		r = e.err.Error()
	}
	if e.redact != nil {
		r = e.redact(r)
	}
	return e.op + ": " + r
}

func imapFailed(leg *facts.MailFlowLeg, start time.Time, err error) *facts.MailFlowLeg {
	leg.Result, leg.LatencyMS = facts.LegFailed, ms(time.Since(start))
	if ie, ok := err.(*imapError); ok {
		leg.Error = ie.op + " failed"
		leg.Reply = ie.reply
		if leg.Reply == "" && ie.err != nil {
			leg.Reply = ie.err.Error()
		}
		if ie.redact != nil {
			leg.Reply = ie.redact(leg.Reply)
		}
		return leg
	}
	leg.Error = err.Error()
	return leg
}
