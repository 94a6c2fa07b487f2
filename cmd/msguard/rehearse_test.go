package main

import (
	"io"
	"strings"
	"testing"

	"github.com/msguard/msguard/internal/exitcode"

	"github.com/msguard/msguard/collectors/facts"
)

// TestRemoteDirectory: a directory on this host is the twin's own; one on
// another host gets a scratch copy, unless it is reached over TLS or the
// configuration directory is on a third host (refused: one line, exit 2,
// nothing touched).
func TestRemoteDirectory(t *testing.T) {
	inf := func(cfg string) *facts.Install {
		return &facts.Install{InstallInf: map[string]map[string]string{"General": {"ConfigDirectoryLdapURL": cfg}}}
	}
	tests := []struct {
		url      string
		install  *facts.Install
		starttls bool
		remote   bool
		refused  string
	}{
		{url: "ldap://127.0.0.1:389/o=siroe.com"},
		{url: "ldap://localhost:389/o=siroe.com"},
		{url: "ldaps://[::1]:636/o=siroe.com"},
		{url: ""},
		{url: "ldap://192.0.2.10:389/o=siroe.com", remote: true}, // TEST-NET-1: nobody's address
		{url: "ldap://directory.invalid:389/o=siroe.com", remote: true},
		{url: "ldap://192.0.2.10:389/o=siroe.com", install: inf("ldap://192.0.2.10:389/o=NetscapeRoot"), remote: true},
		{url: "ldap://192.0.2.10:389/o=siroe.com", install: inf("ldap://127.0.0.1:3389/o=NetscapeRoot"), remote: true},
		{url: "ldaps://192.0.2.10:636/o=siroe.com", refused: "reached over TLS"},
		{url: "ldap://192.0.2.10:389/o=siroe.com", starttls: true, refused: "reached over TLS"},
		{url: "ldap://192.0.2.10:389/o=siroe.com", install: inf("ldap://192.0.2.11:389/o=NetscapeRoot"), refused: "on another host than the user directory"},
	}
	for _, tt := range tests {
		a := newApp(strings.NewReader(""), io.Discard, io.Discard)
		a.common.ldapStartTLS = tt.starttls
		got, err := a.remoteDirectory(&facts.Snapshot{LDAP: &facts.LDAP{URL: tt.url}, Install: tt.install})
		if tt.refused != "" {
			if err == nil || exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), tt.refused) ||
				!strings.HasSuffix(err.Error(), "nothing was touched") || strings.Contains(err.Error(), "\n") {
				t.Errorf("%q: %v; want refused (exit 2, one line): %s", tt.url, err, tt.refused)
			}
			continue
		}
		if err != nil || (got != "") != tt.remote {
			t.Errorf("%q: %q, %v; remote want %v", tt.url, got, err, tt.remote)
		}
	}
}

func TestStartCommands(t *testing.T) {
	s := &facts.Snapshot{ServerRoot: "/r", WebServerRoot: "/r", HA: &facts.HA{Kind: "vcs"},
		Processes: &facts.Processes{Daemons: []facts.Process{
			{Role: "webserver:https-vm"}, {Role: "msg:budgie"}, {Role: "msg:budgie"}, {Role: "admin-server"},
			{Role: "slapd:budgie"}, {Role: "", Cmdline: "/r/.msguard-sim/cluster-bin/ha-monitor"},
			{Role: "", Cmdline: "/r/bin/x -w " + facts.Redacted},
		}}}
	start, detached := startCommands(s)
	var got []string
	for _, c := range start {
		got = append(got, strings.Join(c, " "))
	}
	want := "/r/slapd-budgie/start-slapd|/r/start-admin|/r/msg-budgie/start-msg ha|/r/https-vm/start"
	if strings.Join(got, "|") != want {
		t.Errorf("start %v, want %s", got, want)
	}
	// A process whose command line was redacted cannot be started again.
	if len(detached) != 1 || detached[0][0] != "/r/.msguard-sim/cluster-bin/ha-monitor" {
		t.Errorf("detached %v", detached)
	}
}
