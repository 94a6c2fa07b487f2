package main

import (
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
)

func TestDirectoryInTwin(t *testing.T) {
	tests := []struct {
		url     string
		refused bool
	}{
		{"ldap://127.0.0.1:389/o=siroe.com", false},
		{"ldap://localhost:389/o=siroe.com", false},
		{"ldaps://[::1]:636/o=siroe.com", false},
		{"ldap://192.0.2.10:389/o=siroe.com", true}, // TEST-NET-1: nobody's address
		{"ldap://directory.invalid:389/o=siroe.com", true},
		{"", false},
	}
	for _, tt := range tests {
		err := directoryInTwin(&facts.Snapshot{LDAP: &facts.LDAP{URL: tt.url}})
		if (err != nil) != tt.refused {
			t.Errorf("%q: %v, refused want %v", tt.url, err, tt.refused)
		}
		if err != nil && (!strings.Contains(err.Error(), "nothing was touched") || strings.Contains(err.Error(), "\n")) {
			t.Errorf("%q: refusal %q", tt.url, err)
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
