package media

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/msguard/msguard/sim"
)

func TestWriteMedia(t *testing.T) {
	tr := newTestRoot(t, nil)
	for rel, kind := range mediaScripts {
		path := filepath.Join(tr.media, rel)
		fi, err := os.Stat(path)
		if err != nil || fi.Mode().Perm()&0o111 == 0 {
			t.Errorf("%s: %v, mode %v: want an executable script", rel, err, fi)
			continue
		}
		b, _ := os.ReadFile(path)
		want := "exec '" + filepath.Join(tr.media, "bin", "msguard-sim") + "' installer --media '" + tr.media + "' " + kind + ` "$@"`
		if !strings.HasPrefix(string(b), "#!/bin/sh\n") || !strings.Contains(string(b), want) {
			t.Errorf("%s:\n%s\nwant it to contain %s", rel, b, want)
		}
	}
	for rel, want := range map[string]string{
		"bin/msguard-sim":         "new binary",
		"msg52/VERSION":           "iPlanet Messaging Server 5.2",
		"msg52/SUNWscims/pkginfo": "PKG=SUNWscims",
	} {
		if b, err := os.ReadFile(filepath.Join(tr.media, rel)); err != nil || !strings.Contains(string(b), want) {
			t.Errorf("%s: %v %q, want %q", rel, err, b, want)
		}
	}
}

func TestDSSetup(t *testing.T) {
	tests := []struct {
		name    string
		fail    bool
		answers []string
		want    string // "" = success
	}{
		{name: "runbook answers", answers: []string{"ROOT", "", "", testDMPw, "", "", "", "", ""}},
		{name: "wrong password", answers: []string{"ROOT", "", "", "guess", "", "", "", "", ""}, want: "cannot bind"},
		{name: "unknown instance", answers: []string{"ROOT", "2"}, want: "instance"},
		{name: "other suffix", answers: []string{"ROOT", "", "", testDMPw, "", "o=example.com"}, want: "suffix"},
		{name: "not continued", answers: []string{"ROOT", "", "", testDMPw, "", "", "", "", "n"}, want: "cancelled"},
		{name: "simulated failure", fail: true, answers: []string{"ROOT", "", "", testDMPw, "", "", "", "", ""}, want: "simulated"},
	}
	wantPrompts := []string{
		"Directory server root [/usr/iplanet/server5]: ",
		"Which instance do you want [1]: ",
		"Please enter the directory manager DN [cn=Directory Manager]: ",
		"Password: ",
		"Will this directory server be used for users/groups [Yes]: ",
		"Please enter the Users and Groups base suffix [o=siroe.com]: ",
		"Do you want to update the schema files [yes]: ",
		"Do you want to configure new indexes [yes]: ",
		"Do you want to continue [y]: ",
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRoot(t, func(sc *sim.Scenario) { sc.Fail.DSSetup = tc.fail })
			tc.answers[0] = tr.root
			fd := newFakeDirectory("ServiceAdmin")
			out, err := run(t, fd.env(), imsDSSetup, tr.media, nil, tc.answers...)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("ims_dssetup: %v\n%s", err, out)
				}
				if got := prompts(out); !reflect.DeepEqual(got, wantPrompts) {
					t.Errorf("prompts:\n%q\nwant\n%q", got, wantPrompts)
				}
				if !strings.Contains(out, "   1. slapd-budgie\n") {
					t.Errorf("instances not listed:\n%s", out)
				}
				if !reflect.DeepEqual(fd.applied, []string{"budgie:" + testDMPw}) {
					t.Errorf("applied %v", fd.applied)
				}
				return
			}
			var ee *sim.ExitError
			if !errors.As(err, &ee) || !strings.Contains(out, "ERROR: ") || !strings.Contains(out, tc.want) {
				t.Errorf("err %v, want ERROR: ...%s:\n%s", err, tc.want, out)
			}
			if len(fd.applied) != 0 {
				t.Errorf("a failed ims_dssetup changed the directory")
			}
		})
	}
}

func TestWebServerSetup(t *testing.T) {
	tests := []struct {
		version, want, wantVersion string
	}{
		{"6.0SP1", "", "6.0SP2"},
		{"4.1", "Web Server 4.x cannot be upgraded to 6.0 SP2; migrate it", "4.1"},
		{"", "no iPlanet Web Server", ""},
	}
	for _, tc := range tests {
		t.Run("from "+tc.version, func(t *testing.T) {
			tr := newTestRoot(t, func(sc *sim.Scenario) { sc.WebServer = tc.version })
			out, err := run(t, newFakeDirectory("ServiceAdmin").env(), wsSetup, tr.media, nil, "", tr.root, "")
			if tc.want == "" && err != nil {
				t.Fatalf("ws setup: %v\n%s", err, out)
			}
			if tc.want != "" && (err == nil || !strings.Contains(out, "ERROR: "+tc.want)) {
				t.Errorf("err %v, want ERROR: %s:\n%s", err, tc.want, out)
			}
			if st := reload(t, tr.root); st.WebServer != tc.wantVersion {
				t.Errorf("WebServer %q, want %q", st.WebServer, tc.wantVersion)
			}
		})
	}
}

func TestWebServerSetupSeparateRoot(t *testing.T) {
	var ws string
	tr := newTestRoot(t, func(sc *sim.Scenario) {
		ws = filepath.Join(filepath.Dir(sc.Root), "webserver")
		sc.WebServerRoot, sc.WebServer = ws, "6.0SP1"
	})
	if err := os.WriteFile(filepath.Join(ws, wsRootMarker), []byte(tr.root+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := run(t, newFakeDirectory("ServiceAdmin").env(), wsSetup, tr.media, nil, "", ws, ""); err != nil {
		t.Fatalf("ws setup: %v\n%s", err, out)
	}
	if st := reload(t, tr.root); st.WebServer != "6.0SP2" {
		t.Errorf("WebServer %q", st.WebServer)
	}
}

func TestDelegatedAdministrator(t *testing.T) {
	tr := newTestRoot(t, func(sc *sim.Scenario) { sc.WebServer, sc.DA = "6.0SP2", "1.1" })
	e := newFakeDirectory("ServiceAdmin").env()
	nda := filepath.Join(tr.root, "setup", "nda", "nda.inf")
	servlets := filepath.Join(tr.root, "https-"+testHost, "config", "servlets.properties")
	steps := []struct {
		name    string
		body    installerBody
		answers []string
		want    string
		check   func() string
	}{
		{"setup before uninstall", daSetup, []string{"", tr.root}, "uninstall it first", nil},
		{"uninstall", daUninstall, []string{tr.root, ""}, "", func() string {
			if exists(nda) || exists(servlets) || !exists(servlets+".nda") || reload(t, tr.root).DA != "" {
				return "nda.inf kept or servlets.properties not renamed"
			}
			return ""
		}},
		{"uninstall again", daUninstall, []string{tr.root, ""}, "no Delegated Administrator", nil},
		{"setup", daSetup, []string{"", tr.root}, "", func() string {
			b, _ := os.ReadFile(nda)
			if !strings.Contains(string(b), "Version= 1.2") || reload(t, tr.root).DA != "1.2" || !exists(servlets) {
				return "DA 1.2 not installed: nda.inf " + string(b)
			}
			return ""
		}},
	}
	for _, s := range steps {
		out, err := run(t, e, s.body, tr.media, nil, s.answers...)
		if s.want == "" && err != nil {
			t.Fatalf("%s: %v\n%s", s.name, err, out)
		}
		if s.want != "" && (err == nil || !strings.Contains(out, s.want)) {
			t.Fatalf("%s: err %v, want %q:\n%s", s.name, err, s.want, out)
		}
		if s.check != nil {
			if msg := s.check(); msg != "" {
				t.Fatalf("%s: %s", s.name, msg)
			}
		}
	}
}

// cli runs a cluster CLI of the host as if from its cluster-bin.
func cli(t *testing.T, root, name string, args ...string) (string, int) {
	t.Helper()
	var out bytes.Buffer
	exe := filepath.Join(root, ".msguard-sim", "cluster-bin", name)
	code := runCluster(t.Context(), name, exe, clusterFuncs[name], args, sim.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), code
}

// stubMsgScripts writes INST/start-msg and INST/stop-msg as scripts that
// append their command line to a log, and returns a function that returns
// (and empties) what the log holds.
func stubMsgScripts(t *testing.T, st *sim.State) func() string {
	t.Helper()
	log := filepath.Join(t.TempDir(), "scripts.log")
	for _, name := range []string{"start-msg", "stop-msg"} {
		body := fmt.Sprintf("#!/bin/sh\necho \"%s $*\" >> '%s'\n", name, log)
		if err := os.WriteFile(filepath.Join(st.Paths().Inst(), name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return func() string {
		b, _ := os.ReadFile(log)
		os.Remove(log)
		return strings.TrimSpace(string(b))
	}
}

func TestClusterCLIs(t *testing.T) {
	type call struct {
		args     []string
		wantCode int
		want     string // substring of the output
		scripts  string // the INST scripts the call ran, "; "-separated
	}
	const start, stop = "start-msg ha", "stop-msg ha"
	tests := []struct {
		name  string
		edit  func(sc *sim.Scenario)
		calls []call
	}{
		{"sc22", func(sc *sim.Scenario) { sc.HA = "sc22" }, []call{
			{args: []string{"hareg"}, want: "iMS50       on\n"},
			{args: []string{"haget", "-f", "mastered"}, want: "ims-lh\n"},
			{args: []string{"haget", "-f", "master", "-h", "ims-lh"}, want: "mail\n"},
			{args: []string{"haget", "-f", "master", "-h", "other-lh"}, wantCode: 1, want: "not configured"},
			{args: []string{"haget"}, wantCode: 1, want: "usage"},
			{args: []string{"hareg", "-u", "iMS50"}, wantCode: 1, want: "turn it off first"},
			{args: []string{"hareg", "-n", "iMS50"}, scripts: stop},
			{args: []string{"hareg"}, want: "iMS50       off\n"},
			{args: []string{"hareg", "-u", "iMS50"}},
			{args: []string{"hareg", "-y", "iMS50"}, wantCode: 1, want: "not registered"},
			{args: []string{"hareg", "-r", "iMS50"}},
			{args: []string{"hareg", "-y", "iMS50"}, scripts: start},
			{args: []string{"hareg"}, want: "iMS50       on\n"},
		}},
		{"sc22 on another master", func(sc *sim.Scenario) { sc.HA, sc.HAMaster = "sc22", "parrot" }, []call{
			{args: []string{"haget", "-f", "mastered"}, want: ""},
			{args: []string{"haget", "-f", "master", "-h", "ims-lh"}, want: "parrot\n"},
			{args: []string{"hareg", "-n", "iMS50"}, wantCode: 1, want: "hareg: this node does not master logical host ims-lh (master: parrot)"},
			{args: []string{"hareg", "-u", "iMS50"}, wantCode: 1, want: "(master: parrot)"},
			{args: []string{"hareg"}, want: "iMS50       on\n"},
		}},
		{"sc22 refusing offline", func(sc *sim.Scenario) { sc.HA, sc.Fail.HARefuseOffline = "sc22", true }, []call{
			{args: []string{"hareg", "-n", "iMS50"}},
			{args: []string{"hareg"}, want: "iMS50       on\n"},
		}},
		{"vcs", func(sc *sim.Scenario) { sc.HA = "vcs" }, []call{
			{args: []string{"hagrp", "-state", "iMS5"}, want: "iMS5         State                 mail       |ONLINE|"},
			{args: []string{"hagrp", "-offline", "iMS5", "-sys", "mail"}, scripts: stop},
			{args: []string{"hagrp", "-state", "iMS5"}, want: "|OFFLINE|"},
			{args: []string{"hares", "-state"}, want: "logical_IP   State                 mail       OFFLINE\nmail         State                 mail       OFFLINE"},
			{args: []string{"hagrp", "-offline", "iMS5", "-sys", "other"}, wantCode: 1, want: "does not exist"},
			{args: []string{"hagrp", "-online", "iMS5", "-sys", "mail"}, scripts: start},
			{args: []string{"hares", "-modify", "mountshared", "Enabled", "0"}, scripts: stop},
			{args: []string{"hares", "-state"}, want: "mail         State                 mail       OFFLINE\nmountshared  State                 mail       OFFLINE"},
			{args: []string{"hagrp", "-online", "iMS5", "-sys", "mail"}},
			{args: []string{"hagrp", "-state", "iMS5"}, want: "|PARTIAL|"},
			{args: []string{"hares", "-modify", "mountshared", "Enabled", "1"}},
			{args: []string{"hagrp", "-online", "iMS5", "-sys", "mail"}, scripts: start},
			{args: []string{"hares", "-modify", "mail", "Enabled", "0"}, scripts: stop},
			{args: []string{"hares", "-dep"}, want: "iMS5         mail         logical_IP\niMS5         mail         mountshared\n"},
			{args: []string{"hares", "-unlink", "mail", "logical_IP"}},
			{args: []string{"hares", "-unlink", "mail", "logical_IP"}, wantCode: 1, want: "does not exist"},
			{args: []string{"hares", "-unlink", "mail", "mountshared"}},
			{args: []string{"hares", "-dep"}, want: "#Group       Parent       Child\n"},
			{args: []string{"hagrp", "-online", "iMS5", "-sys", "mail"}},
			{args: []string{"hares", "-state"}, want: "mail         State                 mail       OFFLINE\nmountshared  State                 mail       ONLINE"},
			{args: []string{"hares", "-link", "mail", "logical_IP"}},
			{args: []string{"hares", "-link", "mail", "logical_IP"}, wantCode: 1, want: "already exists"},
			{args: []string{"hares", "-link", "mail", "nosuch"}, wantCode: 1, want: "Resource nosuch does not exist"},
			{args: []string{"hares", "-modify", "mail", "Enabled", "1"}},
			{args: []string{"hares", "-state", "mail"}, want: "mail         State                 mail       OFFLINE"},
			{args: []string{"hagrp", "-online", "iMS5", "-sys", "mail"}, scripts: start},
			{args: []string{"hagrp", "-list"}, want: "iMS5         mail\n"},
		}},
		{"vcs refusing offline", func(sc *sim.Scenario) { sc.HA, sc.Fail.HARefuseOffline = "vcs", true }, []call{
			{args: []string{"hagrp", "-offline", "iMS5", "-sys", "mail"}},
			{args: []string{"hagrp", "-state", "iMS5"}, want: "|ONLINE|"},
		}},
		{"sc3", func(sc *sim.Scenario) { sc.HA, sc.HAUnreachable = "sc3", []string{"mail-2"} }, []call{
			{args: []string{"pkginfo", "SUNWscims"}, want: "application  SUNWscims"},
			{args: []string{"pkginfo", "-l", "SUNWscims"}, want: "VERSION:  5.1"},
			{args: []string{"pkginfo", "SUNWother"}, wantCode: 1, want: "was not found"},
			{args: []string{"scrgadm", "-p"}, want: "SUNW.ims"},
			{args: []string{"scstat", "-g"}, want: "     Group: ims-rg              mail                Online"},
			{args: []string{"scstat", "-n"}, want: "\n-- Cluster Nodes --\n\n" +
				"                    Node name           Status\n" +
				"                    ---------           ------\n" +
				"  Cluster node:     mail                Online\n" +
				"  Cluster node:     mail-2              Offline\n"},
			{args: []string{"scstat", "-x"}, wantCode: 1, want: "usage"},
			{args: []string{"ssh", "-o", "BatchMode=yes", "mail-2", "pkginfo", "-l", "SUNWscims"}, wantCode: 255,
				want: "ssh: connect to host mail-2 port 22: Connection timed out\n"},
			{args: []string{"ssh", "nosuch", "pkginfo"}, wantCode: 255, want: "connect to host nosuch port 22"},
			{args: []string{"ssh", "-o", "BatchMode=yes", "root@mail", "pkginfo -l SUNWscims"}, want: "VERSION:  5.1"},
			{args: []string{"ssh", "mail", "uname", "-a"}, wantCode: 127, want: "sh: uname: not found"},
			{args: []string{"pkgadd", "-n", "-d", "MEDIA/msg52", "SUNWscims"}, want: "Installation of <SUNWscims> was successful."},
			{args: []string{"pkginfo", "-l", "SUNWscims"}, want: "VERSION:  5.2"},
			{args: []string{"ssh", "mail", "pkginfo", "-l", "SUNWscims"}, want: "VERSION:  5.2"},
			{args: []string{"pkgadd", "-d", "MEDIA", "SUNWscims"}, wantCode: 1, want: "no package associated"},
			{args: []string{"scswitch", "-n", "-j", "ims-rs"}, scripts: stop},
			{args: []string{"scstat", "-g"}, want: "  Resource: ims-rs              mail                Offline   Offline - Service is offline."},
			{args: []string{"scswitch", "-e", "-j", "ims-rs"}, scripts: start},
			{args: []string{"scstat", "-g"}, want: "  Resource: ims-rs              mail                Online    Online - Service is online."},
			{args: []string{"scswitch", "-n", "-j", "ims-lh"}, scripts: stop},
			{args: []string{"scswitch", "-e", "-j", "ims-rs"}},
			{args: []string{"scswitch", "-e", "-j", "ims-lh"}, scripts: start},
			{args: []string{"scswitch", "-n", "-j", "nosuch"}, wantCode: 1, want: `Resource "nosuch" does not exist`},
			{args: []string{"scswitch", "-x"}, wantCode: 1, want: "usage"},
		}},
		{"sc3 remote node", func(sc *sim.Scenario) { sc.HA = "sc3" }, []call{
			{args: []string{"ssh", "mail-2", "pkgadd", "-d", "MEDIA/msg52", "SUNWscims"}, want: "Upgrading <SUNWscims> from version 5.1 to 5.2."},
			{args: []string{"ssh", "mail-2", "pkginfo -l SUNWscims"}, want: "VERSION:  5.2"},
			{args: []string{"pkginfo", "-l", "SUNWscims"}, want: "VERSION:  5.1"},
			{args: []string{"scstat", "-n"}, want: "  Cluster node:     mail-2              Online\n"},
		}},
		{"sc3 refusing offline", func(sc *sim.Scenario) { sc.HA, sc.Fail.HARefuseOffline = "sc3", true }, []call{
			{args: []string{"scswitch", "-n", "-j", "ims-rs"}},
			{args: []string{"scstat", "-g"}, want: "Online - Service is online."},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRoot(t, tc.edit)
			var log bytes.Buffer
			if err := createCluster(t.Context(), tr.st, "", &log); err != nil {
				t.Fatal(err)
			}
			if err := tr.st.Save(); err != nil {
				t.Fatal(err)
			}
			scripts := stubMsgScripts(t, tr.st)
			for _, name := range append(clusterPrograms[tr.st.Scenario.HA], haMonitorName) {
				a, _ := os.Stat(filepath.Join(tr.st.Paths().ClusterBin(), name))
				b, _ := os.Stat(tr.st.Paths().SimBinary())
				if a == nil || !os.SameFile(a, b) {
					t.Errorf("%s is not a hard link of the simulator binary", name)
				}
			}
			for _, c := range tc.calls {
				for i := range c.args {
					c.args[i] = strings.Replace(c.args[i], "MEDIA", tr.media, 1)
				}
				out, code := cli(t, tr.root, c.args[0], c.args[1:]...)
				if code != c.wantCode || !strings.Contains(out, c.want) {
					t.Fatalf("%v: exit %d, output:\n%s\nwant exit %d and %q", c.args, code, out, c.wantCode, c.want)
				}
				if got := strings.ReplaceAll(scripts(), "\n", "; "); got != c.scripts {
					t.Fatalf("%v ran %q, want %q", c.args, got, c.scripts)
				}
			}
		})
	}
}

// TestClusterRejectsUnknownUnreachableNode: ha_unreachable must name a
// cluster node other than this host.
func TestClusterRejectsUnknownUnreachableNode(t *testing.T) {
	for _, bad := range []string{"nosuch", "mail"} {
		tr := newTestRoot(t, func(sc *sim.Scenario) { sc.HA, sc.HAUnreachable = "sc3", []string{bad} })
		if err := createCluster(t.Context(), tr.st, "", io.Discard); err == nil || !strings.Contains(err.Error(), bad) {
			t.Errorf("ha_unreachable %s: %v", bad, err)
		}
	}
}

// TestServiceOn is the monitor's "under cluster control and on" per kind.
func TestServiceOn(t *testing.T) {
	tests := []struct {
		ha      string
		cluster map[string]string
		want    bool
	}{
		{"none", nil, false},
		{"sc22", map[string]string{"iMS50": "on"}, true},
		{"sc22", map[string]string{"iMS50": "off"}, false},
		{"sc22", map[string]string{}, false},
		{"vcs", map[string]string{"iMS5": "ONLINE", "mail": "ONLINE", "enabled:mail": "1"}, true},
		{"vcs", map[string]string{"iMS5": "ONLINE", "mail": "ONLINE", "enabled:mail": "0"}, false},
		{"vcs", map[string]string{"iMS5": "OFFLINE", "mail": "ONLINE", "enabled:mail": "1"}, false},
		{"vcs", map[string]string{"iMS5": "PARTIAL", "mail": "OFFLINE", "enabled:mail": "1"}, false},
		{"sc3", map[string]string{"ims-rs": "Online", "enabled:ims-rs": "1"}, true},
		{"sc3", map[string]string{"ims-rs": "Online", "enabled:ims-rs": "0"}, false},
		{"sc3", map[string]string{"ims-rs": "Offline", "enabled:ims-rs": "1"}, false},
	}
	for _, tt := range tests {
		st := &sim.State{Scenario: sim.Scenario{HA: tt.ha}, Cluster: tt.cluster}
		if got := ServiceOn(st); got != tt.want {
			t.Errorf("%s %v: ServiceOn = %v, want %v", tt.ha, tt.cluster, got, tt.want)
		}
	}
}
