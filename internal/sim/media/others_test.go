package media

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/msguard/msguard/internal/sim"
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
	code := runCluster(name, exe, clusterFuncs[name], args, sim.Stdio{In: strings.NewReader(""), Out: &out, Err: &out})
	return out.String(), code
}

func TestClusterCLIs(t *testing.T) {
	type call struct {
		args     []string
		wantCode int
		want     string // substring of the output
	}
	tests := []struct {
		ha    string
		calls []call
	}{
		{"sc22", []call{
			{[]string{"hareg"}, 0, "iMS50       on\n"},
			{[]string{"hareg", "-u", "iMS50"}, 1, "turn it off first"},
			{[]string{"hareg", "-n", "iMS50"}, 0, ""},
			{[]string{"hareg"}, 0, "iMS50       off\n"},
			{[]string{"hareg", "-u", "iMS50"}, 0, ""},
			{[]string{"hareg", "-y", "iMS50"}, 1, "not registered"},
			{[]string{"hareg", "-r", "iMS50"}, 0, ""},
			{[]string{"hareg", "-y", "iMS50"}, 0, ""},
			{[]string{"hareg"}, 0, "iMS50       on\n"},
		}},
		{"vcs", []call{
			{[]string{"hagrp", "-state", "iMS5"}, 0, "iMS5         State                 mail       |ONLINE|"},
			{[]string{"hagrp", "-offline", "iMS5", "-sys", "mail"}, 0, ""},
			{[]string{"hagrp", "-state", "iMS5"}, 0, "|OFFLINE|"},
			{[]string{"hagrp", "-offline", "iMS5", "-sys", "other"}, 1, "does not exist"},
			{[]string{"hares", "-modify", "mail", "Enabled", "0"}, 0, ""},
			{[]string{"hares", "-dep"}, 0, "iMS5         mail         logical_IP\niMS5         mail         mountshared\n"},
			{[]string{"hares", "-unlink", "mail", "logical_IP"}, 0, ""},
			{[]string{"hares", "-unlink", "mail", "logical_IP"}, 1, "does not exist"},
			{[]string{"hares", "-unlink", "mail", "mountshared"}, 0, ""},
			{[]string{"hares", "-dep"}, 0, "#Group       Parent       Child\n"},
			{[]string{"hagrp", "-online", "iMS5", "-sys", "mail"}, 0, ""},
			{[]string{"hares", "-state"}, 0, "mail         State                 mail       OFFLINE\nmountshared  State                 mail       ONLINE"},
			{[]string{"hares", "-link", "mail", "logical_IP"}, 0, ""},
			{[]string{"hares", "-link", "mail", "logical_IP"}, 1, "already exists"},
			{[]string{"hares", "-link", "mail", "nosuch"}, 1, "Resource nosuch does not exist"},
			{[]string{"hagrp", "-list"}, 0, "iMS5         mail\n"},
		}},
		{"sc3", []call{
			{[]string{"pkginfo", "SUNWscims"}, 0, "application  SUNWscims"},
			{[]string{"pkginfo", "-l", "SUNWscims"}, 0, "VERSION:  5.1"},
			{[]string{"pkginfo", "SUNWother"}, 1, "was not found"},
			{[]string{"scrgadm", "-p"}, 0, "SUNW.ims"},
			{[]string{"scstat", "-g"}, 0, "     Group: ims-rg              mail                Online"},
			{[]string{"pkgadd", "-n", "-d", "MEDIA/msg52", "SUNWscims"}, 0, "Installation of <SUNWscims> was successful."},
			{[]string{"pkginfo", "-l", "SUNWscims"}, 0, "VERSION:  5.2"},
			{[]string{"pkgadd", "-d", "MEDIA", "SUNWscims"}, 1, "no package associated"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.ha, func(t *testing.T) {
			tr := newTestRoot(t, func(sc *sim.Scenario) { sc.HA = tc.ha })
			var log bytes.Buffer
			if err := createCluster(t.Context(), tr.st, "", &log); err != nil {
				t.Fatal(err)
			}
			if err := tr.st.Save(); err != nil {
				t.Fatal(err)
			}
			for _, name := range clusterPrograms[tc.ha] {
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
			}
		})
	}
}
