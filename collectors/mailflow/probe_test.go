package mailflow

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/ldapdial"
)

func TestRun(t *testing.T) {
	tests := []struct {
		name      string
		configure func(*testHost)
		noPOP3    bool
		// want is the result of each leg: submit, delivery, imap, pop3.
		want [4]string
		// failed names the leg that failed and what its reply holds.
		replyLeg, reply string
		tls             bool
	}{
		{name: "flows", want: [4]string{facts.LegOK, facts.LegOK, facts.LegOK, facts.LegOK}},
		{name: "flows over STARTTLS", configure: func(h *testHost) { h.tls = true }, tls: true,
			want: [4]string{facts.LegOK, facts.LegOK, facts.LegOK, facts.LegOK}},
		{name: "POP3 not served", noPOP3: true, want: [4]string{facts.LegOK, facts.LegOK, facts.LegOK, facts.LegNotRun}},
		{name: "relaying denied", configure: func(h *testHost) { h.rejectRcpt = true },
			want:     [4]string{facts.LegFailed, facts.LegNotRun, facts.LegNotRun, facts.LegNotRun},
			replyLeg: "submit", reply: "550 5.7.1 relaying denied for " + testAddress},
		{name: "delivery stopped", configure: func(h *testHost) { h.stopDelivery = true },
			want:     [4]string{facts.LegOK, facts.LegFailed, facts.LegNotRun, facts.LegNotRun},
			replyLeg: "delivery"},
		{name: "IMAP refuses logins", configure: func(h *testHost) { h.refuseIMAP = true },
			want:     [4]string{facts.LegOK, facts.LegOK, facts.LegFailed, facts.LegOK},
			replyLeg: "imap", reply: "directory lookup failed for " + testUser},
		{name: "POP3 refuses logins and echoes the password", configure: func(h *testHost) { h.refusePOP3, h.popEcho = true, true },
			want:     [4]string{facts.LegOK, facts.LegOK, facts.LegOK, facts.LegFailed},
			replyLeg: "pop3", reply: "-ERR [AUTH] bad login: PASS <redacted>"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := startTestHost(t, tc.configure)
			cfg := Config{
				Account: Account{User: testUser, Password: testPassword, Address: testAddress},
				SMTP:    h.smtp, IMAP: h.imap, POP3: h.pop3,
				Queue:   QueueDir{Dir: h.queueDir, Since: time.Now()},
				Timeout: 2 * time.Second, CommandTimeout: 5 * time.Second, Poll: 20 * time.Millisecond,
			}
			if tc.noPOP3 {
				cfg.POP3, cfg.POP3Off = "", "service.pop.enable is off"
			}
			if h.caFile != "" {
				ca := h.caFile
				cfg.TLS = func(host string) (*tls.Config, error) { return ldapdial.TLSConfig(host, ca, false) }
			}
			mf := Run(context.Background(), cfg)
			b, _ := json.MarshalIndent(mf, "", "  ")
			legs := map[string]*facts.MailFlowLeg{"submit": mf.Submit, "delivery": mf.Delivery, "imap": mf.IMAP, "pop3": mf.POP3}
			for i, name := range []string{"submit", "delivery", "imap", "pop3"} {
				if legs[name] == nil || legs[name].Result != tc.want[i] {
					t.Errorf("%s leg: got %+v, want %s\n%s", name, legs[name], tc.want[i], b)
				}
			}
			if tc.replyLeg != "" {
				l := legs[tc.replyLeg]
				if l.Error == "" || !strings.Contains(l.Reply, tc.reply) {
					t.Errorf("%s leg: error %q reply %q, want the reply to hold %q", tc.replyLeg, l.Error, l.Reply, tc.reply)
				}
			}
			if strings.Contains(string(b), testPassword) {
				t.Errorf("the password is in the result:\n%s", b)
			}
			// Never left behind: not in the queue, not in the INBOX.
			if n := h.queueHolds(mf.Tag); n != 0 {
				t.Errorf("%d queue files still hold %s\n%s", n, mf.Tag, b)
			}
			if n := h.inboxHolds(mf.Tag); n != 0 {
				t.Errorf("%d INBOX messages still hold %s\n%s", n, mf.Tag, b)
			}
			if mf.Cleanup == nil || !mf.Cleanup.Clean {
				t.Errorf("cleanup: %+v", mf.Cleanup)
			}
			if mf.Submit.Result == facts.LegOK {
				if mf.Submit.TLS != tc.tls || (mf.IMAP.Result == facts.LegOK && mf.IMAP.TLS != tc.tls) {
					t.Errorf("TLS: submit %v imap %v, want %v", mf.Submit.TLS, mf.IMAP.TLS, tc.tls)
				}
			}
			if len(mf.Servers) == 0 || !strings.HasPrefix(mf.Servers[0].Greeting, "220 ") {
				t.Errorf("servers: %+v", mf.Servers)
			}
			// The capabilities are those of the session used: after
			// STARTTLS the server no longer offers it.
			if caps := mf.Servers[0].Capabilities; !contains(caps, "PIPELINING") || contains(caps, "STARTTLS") {
				t.Errorf("SMTP capabilities: %v", caps)
			}
		})
	}
}

// A server whose certificate the CA file did not sign fails the leg: the
// probe never falls back to plaintext.
func TestRunRefusesAnUntrustedCertificate(t *testing.T) {
	h := startTestHost(t, func(h *testHost) { h.tls = true })
	cfg := Config{
		Account: Account{User: testUser, Password: testPassword, Address: testAddress},
		SMTP:    h.smtp, IMAP: h.imap,
		Queue:   QueueDir{Dir: h.queueDir, Since: time.Now()},
		Timeout: time.Second, Poll: 20 * time.Millisecond,
		TLS: func(host string) (*tls.Config, error) { return ldapdial.TLSConfig(host, "", false) },
	}
	mf := Run(context.Background(), cfg)
	if mf.Submit.Result != facts.LegFailed || !strings.Contains(mf.Submit.Error, "certificate") {
		t.Errorf("submit: %+v", mf.Submit)
	}
	if n := h.queueHolds(mf.Tag); n != 0 {
		t.Errorf("queued although TLS failed: %d", n)
	}
}

func TestEHLOCapabilities(t *testing.T) {
	w := &captureWriter{}
	w.Write([]byte("220 mail ESMTP\r\nEHLO localhost\r\n250-mail.siroe.com\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 STARTTLS\r\n"))
	got := strings.Join(w.ehlo(), ",")
	if got != "PIPELINING,SIZE 1000,STARTTLS" {
		t.Errorf("ehlo: %q", got)
	}
}
