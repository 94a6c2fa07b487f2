package collectors

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
)

// closedPort is a loopback port nobody listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	l.Close()
	return port
}

// The mailflow collector: skipped without an account (and on a bundle),
// otherwise the probe runs against the ports of dispatcher.cnf and
// msg.conf, the address from local.conf's local.defdomain, POP3 only when
// service.pop.enable is on.
func TestCollectMailFlow(t *testing.T) {
	smtpPort := closedPort(t)
	probe := &ProbeOptions{User: "probe", Password: func() string { return "probe-secret" }}
	tests := []struct {
		name    string
		popOn   bool
		probe   *ProbeOptions
		host    Host
		skipped string
	}{
		{name: "no probe account", skipped: "no probe account given"},
		{name: "a bundle", probe: probe, host: &bundleHost{}, skipped: "the collector script makes no network connection"},
		{name: "live, POP3 off", probe: probe},
		{name: "live, POP3 on", probe: probe, popOn: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newRoot(t)
			b.repl = []string{"@SMTP_PORT@", smtpPort, "@IMAP_PORT@", "1143"}
			b.standard()
			if tc.popOn {
				b.file("msg-budgie/config/msg.conf", "service.imap.port = 1143\nservice.pop.port = 1110\nservice.pop.enable = 1\nservice.listenaddr = 0.0.0.0\n", 0o644)
			}
			target := resolve(t, Options{ServerRoot: b.root, Probe: tc.probe})
			if tc.host != nil {
				target.host = tc.host
			}
			s := &facts.Snapshot{}
			if _, err := collectMailFlow(context.Background(), target, s); err != nil {
				t.Fatal(err)
			}
			mf := s.MailFlow
			if tc.skipped != "" {
				if mf == nil || !strings.Contains(mf.Skipped, tc.skipped) || mf.Submit != nil {
					t.Fatalf("want skipped %q: %+v", tc.skipped, mf)
				}
				return
			}
			if mf == nil || mf.Skipped != "" {
				t.Fatalf("the probe did not run: %+v", mf)
			}
			if mf.Address != "probe@siroe.com" {
				t.Errorf("address %q, want probe@siroe.com (local.defdomain)", mf.Address)
			}
			if mf.Submit.Result != facts.LegFailed || mf.Submit.Server != "127.0.0.1:"+smtpPort || !strings.Contains(mf.Submit.Error, "connect") {
				t.Errorf("submit to a closed port: %+v", mf.Submit)
			}
			if tc.popOn != (mf.POP3.Detail != "service.pop.enable is off") {
				t.Errorf("pop3: %+v", mf.POP3)
			}
			cfg, err := probeConfig(target)
			if err != nil {
				t.Fatal(err)
			}
			wantIMAP, wantPOP := "127.0.0.1:1143", ""
			if tc.popOn {
				wantPOP = "127.0.0.1:" + strconv.Itoa(1110)
			}
			if cfg.IMAP != wantIMAP || cfg.POP3 != wantPOP || cfg.HeloName != "mail.siroe.com" {
				t.Errorf("config: imap %q pop3 %q helo %q; want %q %q mail.siroe.com", cfg.IMAP, cfg.POP3, cfg.HeloName, wantIMAP, wantPOP)
			}
		})
	}
}

// bundleHost stands for a collector script's bundle: any Host but the
// live one.
type bundleHost struct{ LiveHost }
