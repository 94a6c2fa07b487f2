package collectors

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/mailflow"
	"github.com/msguard/msguard/collectors/parse"
	"github.com/msguard/msguard/internal/ldapdial"
)

// ProbeOptions is the mail-flow probe's account (msguard check --phase
// postflight and msguard audit: --probe-user, --probe-password-file or
// MSGUARD_PROBE_PASSWORD, --probe-address).
type ProbeOptions struct {
	User    string
	Address string // "" = User@local.defdomain of msg.conf
	// Password returns the probe account's password.
	Password func() string
	// Timeout bounds the wait for delivery (0 = mailflow.DefaultTimeout).
	Timeout time.Duration
}

// SkippedNoAccount is why the probe did not run without an account.
const SkippedNoAccount = "no probe account given (--probe-user): mail flow not probed"

// mailflowTimeout is how long the mailflow collector may run: the
// delivery wait and the mailbox wait, and room for the sessions.
func mailflowTimeout(t *Target, base time.Duration) time.Duration {
	if t.Probe == nil {
		return base
	}
	wait := t.Probe.Timeout
	if wait <= 0 {
		wait = mailflow.DefaultTimeout
	}
	return max(base, 2*wait+base)
}

// collectMailFlow runs the mail-flow probe against the install: SMTP on
// the dispatcher's port (dispatcher.cnf), the queue INST/imta/queue, IMAP
// and POP3 on msg.conf's ports (POP3 only when service.pop.enable is on).
// Without a probe account, or on a host read from the collector script's
// bundle (no network), the probe is skipped and says why.
func collectMailFlow(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	if t.Probe == nil {
		s.MailFlow = &facts.MailFlow{Skipped: SkippedNoAccount}
		return nil, nil
	}
	switch t.host.(type) {
	case LiveHost, *LiveHost:
	default:
		s.MailFlow = &facts.MailFlow{Skipped: "the collector script makes no network connection: mail flow not probed"}
		return nil, nil
	}
	cfg, err := probeConfig(t)
	if err != nil {
		return nil, err
	}
	s.MailFlow = mailflow.Run(ctx, cfg)
	return nil, nil
}

// probeConfig finds the probe's servers in the install's configuration.
func probeConfig(t *Target) (mailflow.Config, error) {
	smtpHost, smtpPort, err := smtpAddress(t)
	if err != nil {
		return mailflow.Config{}, err
	}
	f, err := t.host.ReadFile(path.Join(t.InstDir, "config", "msg.conf"))
	if err != nil {
		return mailflow.Config{}, fmt.Errorf("no imap port: %w", err)
	}
	conf, err := parse.MsgConf(bytes.NewReader(f.Data))
	if err != nil && len(conf) == 0 {
		return mailflow.Config{}, fmt.Errorf("no imap port: parse msg.conf: %w", err)
	}
	// local.* keys (local.defdomain, local.hostname) live in local.conf.
	if lf, err := t.host.ReadFile(path.Join(t.InstDir, "config", "local.conf")); err == nil {
		if local, _ := parse.MsgConf(bytes.NewReader(lf.Data)); local != nil {
			for k, v := range local {
				if _, set := conf[k]; !set {
					conf[k] = v
				}
			}
		}
	}
	listen := probeHost(conf["service.listenaddr"])
	imapPort, ok := firstPort(conf["service.imap.port"])
	if !ok {
		imapPort = 143
	}
	p := t.Probe
	addr := p.Address
	if addr == "" {
		domain := conf["local.defdomain"]
		if domain == "" {
			return mailflow.Config{}, fmt.Errorf("no probe address: neither local.conf nor msg.conf has local.defdomain; give --probe-address")
		}
		addr = p.User + "@" + domain
	}
	cfg := mailflow.Config{
		Account:  mailflow.Account{User: p.User, Password: p.Password(), Address: addr},
		SMTP:     net.JoinHostPort(smtpHost, strconv.Itoa(smtpPort)),
		IMAP:     net.JoinHostPort(listen, strconv.Itoa(imapPort)),
		HeloName: conf["local.hostname"],
		Queue:    mailflow.QueueDir{Dir: path.Join(t.InstDir, "imta", "queue"), Since: time.Now()},
		Timeout:  p.Timeout,
		TLS: func(host string) (*tls.Config, error) {
			return ldapdial.TLSConfig(host, t.LDAPCA, t.InsecureSkipVerify)
		},
	}
	if enabled(conf["service.pop.enable"]) {
		popPort, ok := firstPort(conf["service.pop.port"])
		if !ok {
			popPort = 110
		}
		cfg.POP3 = net.JoinHostPort(listen, strconv.Itoa(popPort))
	} else {
		cfg.POP3Off = "service.pop.enable is off"
	}
	return cfg, nil
}

// enabled reads a msg.conf boolean ("1", "yes", "on", "true").
func enabled(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "yes", "on", "true":
		return true
	}
	return false
}
