package main

import (
	"errors"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/mailflow"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/secret"
	"github.com/spf13/cobra"
)

// probeFlags are the mail-flow probe's flags (check --phase postflight and
// audit): the probe account and how long to wait for delivery.
type probeFlags struct {
	user, passwordFile, address string
	timeout                     time.Duration
}

// addProbeFlags registers the probe flags on a command.
func (a *app) addProbeFlags(cmd *cobra.Command, pf *probeFlags) {
	f := cmd.Flags()
	f.StringVar(&pf.user, "probe-user", "", "probe the mail flow as this account (IMAP/POP3 login): submit a message over SMTP, fetch it, delete it")
	f.StringVar(&pf.passwordFile, "probe-password-file", "", "file holding the probe account's password (mode 0600; else env MSGUARD_PROBE_PASSWORD)")
	f.StringVar(&pf.address, "probe-address", "", "the probe account's mail address (default: PROBE-USER@local.defdomain of msg.conf)")
	f.DurationVar(&pf.timeout, "probe-timeout", mailflow.DefaultTimeout, "how long the probe waits for delivery, and then for the message in the mailbox")
}

// options checks the probe flags and reads the password: nil when no
// probe account was given. probing says whether this command probes
// (check --phase postflight collecting live, audit): the flags are a usage
// error elsewhere, why saying why not.
func (pf probeFlags) options(probing bool, why string) (*collectors.ProbeOptions, error) {
	if pf.user == "" {
		for _, f := range []struct{ name, value string }{{"probe-password-file", pf.passwordFile}, {"probe-address", pf.address}} {
			if f.value != "" {
				return nil, exitcode.Usagef("--%s needs --probe-user (the probe account's login)", f.name)
			}
		}
		return nil, nil
	}
	if !probing {
		return nil, exitcode.Usagef("--probe-user: %s", why)
	}
	if pf.timeout <= 0 {
		return nil, exitcode.Usagef("--probe-timeout %v: want a positive duration, e.g. 60s", pf.timeout)
	}
	if pf.address != "" && (!strings.Contains(pf.address, "@") || strings.ContainsAny(pf.address, " <>\r\n")) {
		return nil, exitcode.Usagef("--probe-address %q: want a mail address, e.g. probe@siroe.com", pf.address)
	}
	if strings.ContainsAny(pf.user, " \r\n") {
		return nil, exitcode.Usagef("--probe-user %q: want a login without spaces", pf.user)
	}
	pw, err := secret.Source{What: "probe account", File: pf.passwordFile, FileFlag: "probe-password-file",
		Env: "MSGUARD_PROBE_PASSWORD"}.Read()
	if errors.Is(err, secret.ErrNone) {
		return nil, exitcode.Usagef("--probe-user %s: %v", pf.user, err)
	}
	if err != nil {
		return nil, err
	}
	return &collectors.ProbeOptions{User: pf.user, Address: pf.address, Timeout: pf.timeout,
		Password: func() string { return pw }}, nil
}
