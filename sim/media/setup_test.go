package media

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/msguard/msguard/sim"
)

// layoutPrompts are layout.md's "Installer dialogues" prompts of setup -k,
// in order, with this host's defaults.
var layoutPrompts = []string{
	"Would you like to continue with installation? [Yes]: ",
	"Do you agree to the license terms? [No]: ",
	"Choose an installation type: 1. Express 2. Typical 3. Custom [2]: ",
	"Install location [/usr/iplanet/server5]: ",
	"Specify the components you wish to install [All]: ",
	"Please enter your choice [1]: ",
	"LDAP Configuration Directory Server URL [" + testConfigURL + "]: ",
	"Configuration Directory Administrator ID [admin]: ",
	"Configuration Directory Administrator password: ",
	"Service Administrator ID [ServiceAdmin]: ",
}

// runbookAnswers answers setup -k as runbook §4 says (components given).
func runbookAnswers(root, components string) []string {
	return []string{"", "Yes", "2", root, components, "2", "", "", testAdminPw, ""}
}

func TestSetupDialogueFollowsLayout(t *testing.T) {
	tr := newTestRoot(t, func(sc *sim.Scenario) {
		sc.Customizations = map[string]string{"service.imap.idletimeout": "45"}
	})
	fd := newFakeDirectory("ServiceAdmin")
	out, err := run(t, fd.env(), msgSetup, tr.media, []string{"-k"}, runbookAnswers(tr.root, "1, 2, 3, 4")...)
	if err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	if got := prompts(out); !reflect.DeepEqual(got, layoutPrompts) {
		t.Fatalf("prompts:\n%q\nwant:\n%q", got, layoutPrompts)
	}
	// The information blocks come where layout.md shows them.
	order := []string{
		"Install location [",
		"iPlanet Server Products components:\n   1. Netscape Server Products Core Components (3)\n   2. Netscape Directory Suite (2)\n   3. Administration Services (2)\n   4. iPlanet Messaging Suite (4)\nSpecify the components",
		"This machine has a Messaging Server instance installed already. Please choose below whether you\nwant to upgrade the existing server instance or create a new server instance.",
		"   [1]  Create New\n   [2]  Upgrade\nPlease enter your choice [1]: ",
		"LDAP Configuration Directory Server URL",
	}
	at := 0
	for _, s := range order {
		i := strings.Index(out[at:], s)
		if i < 0 {
			t.Fatalf("transcript lacks %q after offset %d:\n%s", s, at, out)
		}
		at += i
	}
	if !strings.HasSuffix(out, "Installation complete.\n") {
		t.Errorf("transcript does not end with Installation complete.:\n%s", out)
	}
	p := tr.st.Paths()
	backup := filepath.Join(p.Inst(), "backup.20020916103000")
	for _, f := range []string{"config/local.conf", "config/msg.conf", "imta/config/imta.cnf", "html/en/main.html"} {
		if !exists(filepath.Join(backup, f)) {
			t.Errorf("backup lacks %s", f)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(backup, "config", "msg.conf")); !strings.Contains(string(b), "idletimeout") {
		t.Errorf("backed-up msg.conf lost the customisation:\n%s", b)
	}
	msgConf, err := os.ReadFile(filepath.Join(p.Inst(), "config", "msg.conf"))
	if err != nil || strings.Contains(string(msgConf), "idletimeout") {
		t.Errorf("new msg.conf: err %v, customisation carried over:\n%s", err, msgConf)
	}
	for _, f := range []string{"config/local.conf", "imta/config/imta.cnf", "html/en/main.html"} {
		if !exists(filepath.Join(p.Inst(), f)) {
			t.Errorf("new configuration lacks %s", f)
		}
	}
	st := reload(t, tr.root)
	if st.MsgVersion != "5.2" || st.DSVersion != "4.16" {
		t.Errorf("versions after setup: msg %q ds %q, want 5.2 and 4.16", st.MsgVersion, st.DSVersion)
	}
	if inf, _ := os.ReadFile(filepath.Join(tr.root, "setup", "slapd", "slapd.inf")); !strings.Contains(string(inf), "Version= 4.16") {
		t.Errorf("slapd.inf not 4.16:\n%s", inf)
	}
	// Every hard link of the old binary now is the new binary, one file.
	sim0, _ := os.Stat(p.SimBinary())
	for _, l := range []string{p.SimBinary(), filepath.Join(p.MsgLib(), "stored"), p.NsSlapd()} {
		b, err := os.ReadFile(l)
		if err != nil || string(b) != "new binary\n" {
			t.Errorf("%s: %q %v, want the media's binary", l, b, err)
		}
		fi, _ := os.Stat(l)
		if !os.SameFile(fi, sim0) {
			t.Errorf("%s is no longer a hard link of %s", l, p.SimBinary())
		}
	}
	if n := sim0.Sys().(*syscall.Stat_t).Nlink; n != 3 {
		t.Errorf("new binary has %d links, want 3", n)
	}
	log, err := os.ReadFile(filepath.Join(tr.root, "setup", "msg", "upgrade-20020916103000.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(log), testAdminPw) || strings.Contains(out, testAdminPw) {
		t.Errorf("the admin password leaked into the log or transcript")
	}
	if !strings.Contains(string(log), "Configuration Directory Administrator password: \n") || !strings.Contains(string(log), "Installation complete.") {
		t.Errorf("log is not the transcript:\n%s", log)
	}
	if got := infValue(readInstallInf(p), "General", "Components"); got != "nsperl,svrcore,base,slapd,admin,msg" {
		t.Errorf("Components = %q", got)
	}
	if got := infValue(readInstallInf(p), "General", "ConfigDirectoryAdminPwd"); got != testAdminPw {
		t.Errorf("install.inf lost its other keys: ConfigDirectoryAdminPwd = %q", got)
	}
}

func TestSetupComponentSets(t *testing.T) {
	tests := []struct {
		name, components, ds string
		wantMsg, wantDS      string
		wantChoice, backup   bool
	}{
		{"directory only", "1, 2, 3", "4.13", "5.1", "4.16", false, false},
		{"directory already upgraded", "1,3,4", "4.16", "5.2", "4.16", true, true},
		{"spacing variant", " 1 ,3, 4 ", "4.16", "5.2", "4.16", true, true},
		{"default all", "", "4.13", "5.2", "4.16", true, true},
		{"All spelled out", "all", "4.13", "5.2", "4.16", true, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRoot(t, func(sc *sim.Scenario) { sc.DSVersion = tc.ds })
			answers := []string{"", "yes", "", tr.root, tc.components}
			if tc.wantChoice {
				answers = append(answers, "2")
			}
			answers = append(answers, "", "", testAdminPw, "")
			out, err := run(t, newFakeDirectory("ServiceAdmin").env(), msgSetup, tr.media, []string{"-k"}, answers...)
			if err != nil {
				t.Fatalf("setup: %v\n%s", err, out)
			}
			if got := strings.Contains(out, "Please enter your choice"); got != tc.wantChoice {
				t.Errorf("choice prompt shown = %v, want %v", got, tc.wantChoice)
			}
			st := reload(t, tr.root)
			if st.MsgVersion != tc.wantMsg || st.DSVersion != tc.wantDS {
				t.Errorf("versions msg %q ds %q, want %q %q", st.MsgVersion, st.DSVersion, tc.wantMsg, tc.wantDS)
			}
			m, _ := filepath.Glob(filepath.Join(st.Paths().Inst(), "backup.*"))
			if (len(m) == 1) != tc.backup {
				t.Errorf("backups %v, want one: %v", m, tc.backup)
			}
			if !tc.backup && !exists(filepath.Join(st.Paths().Inst(), "config", "msg.conf")) {
				t.Errorf("a directory-only setup moved msg.conf")
			}
		})
	}
}

func TestSetupRefuses(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(sc *sim.Scenario)
		args    []string
		answers func(root string) []string
		fd      func(fd *fakeDirectory)
		want    string
	}{
		{name: "without -k", args: []string{}, answers: func(root string) []string { return nil }, want: "setup -k"},
		{name: "license not accepted", answers: func(root string) []string { return []string{"", ""} }, want: "license"},
		{name: "license refused", answers: func(root string) []string { return []string{"Yes", "No"} }, want: "license"},
		{name: "unknown root", answers: func(root string) []string {
			return runbookAnswers(filepath.Join(filepath.Dir(root), "nowhere"), "1, 2, 3, 4")
		}, want: "not an iPlanet server root"},
		{name: "relative root", answers: func(root string) []string { return runbookAnswers("server5", "1, 2, 3, 4") }, want: "absolute"},
		{name: "messaging alone", answers: func(root string) []string { return runbookAnswers(root, "4") }, want: "components"},
		{name: "unknown component", answers: func(root string) []string { return runbookAnswers(root, "1, 5") }, want: "component"},
		{name: "1, 3, 4 on DS 4.13", answers: func(root string) []string { return runbookAnswers(root, "1, 3, 4") }, want: "Directory Server 4.16"},
		{name: "create new instance", answers: func(root string) []string {
			a := runbookAnswers(root, "1, 2, 3, 4")
			a[5] = "1"
			return a
		}, want: "creating a new server instance"},
		{name: "wrong admin password", answers: func(root string) []string {
			a := runbookAnswers(root, "1, 2, 3, 4")
			a[8] = "guess"
			return a
		}, want: "configuration directory administrator admin"},
		{name: "directory unreachable", answers: func(root string) []string { return runbookAnswers(root, "1, 2, 3, 4") },
			fd: func(fd *fakeDirectory) { fd.reachable = nil }, want: "not reachable"},
		{name: "default service admin on a renamed one", mutate: func(sc *sim.Scenario) { sc.Secrets.ServiceAdminID = "msgadmin" },
			answers: func(root string) []string { return runbookAnswers(root, "1, 2, 3, 4") }, want: "this installation's is msgadmin"},
		{name: "wrong service admin password", mutate: func(sc *sim.Scenario) { sc.Secrets.ServiceAdminID = "msgadmin" },
			answers: func(root string) []string { return append(runbookAnswers(root, "1, 2, 3, 4")[:9], "msgadmin", "guess") },
			want:    "service administrator msgadmin"},
		{name: "input ends", answers: func(root string) []string { return []string{"", "Yes", "2", root} }, want: "end of input"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRoot(t, tc.mutate)
			fd := newFakeDirectory(tr.st.Scenario.Secrets.ServiceAdminID)
			if tc.fd != nil {
				tc.fd(fd)
			}
			args := tc.args
			if args == nil {
				args = []string{"-k"}
			}
			out, err := run(t, fd.env(), msgSetup, tr.media, args, tc.answers(tr.root)...)
			var ee *sim.ExitError
			if !errors.As(err, &ee) || ee.Code == 0 {
				t.Fatalf("err = %v, want an exit error\n%s", err, out)
			}
			last := out[strings.LastIndex(strings.TrimSuffix(out, "\n"), "\n")+1:]
			if !strings.HasPrefix(last, "ERROR: ") || !strings.Contains(last, tc.want) {
				t.Errorf("last line %q, want ERROR: ...%s...", last, tc.want)
			}
			st := reload(t, tr.root)
			if st.MsgVersion != "5.1" || st.DSVersion != tr.st.DSVersion {
				t.Errorf("a refused setup changed versions: %s %s", st.MsgVersion, st.DSVersion)
			}
			if m, _ := filepath.Glob(filepath.Join(st.Paths().Inst(), "backup.*")); len(m) != 0 {
				t.Errorf("a refused setup made backups %v", m)
			}
		})
	}
}

func TestSetupServiceAdminPassword(t *testing.T) {
	tr := newTestRoot(t, func(sc *sim.Scenario) { sc.Secrets.ServiceAdminID = "msgadmin" })
	answers := append(runbookAnswers(tr.root, "1, 2, 3, 4")[:9], "msgadmin", testSvcPw)
	out, err := run(t, newFakeDirectory("msgadmin").env(), msgSetup, tr.media, []string{"-k"}, answers...)
	if err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	want := append(append([]string{}, layoutPrompts...), "Service Administrator password: ")
	if got := prompts(out); !reflect.DeepEqual(got, want) {
		t.Errorf("prompts:\n%q\nwant:\n%q", got, want)
	}
	if strings.Contains(out, testSvcPw) {
		t.Errorf("service administrator password echoed")
	}
}

func TestSetupFailAfter(t *testing.T) {
	tests := []struct {
		stage         string
		wantMsg       string
		wantNewConfig bool
		wantBinary    string
	}{
		{"backup", "5.1", false, "old binary\n"},
		{"binaries", "5.2", true, "new binary\n"},
	}
	for _, tc := range tests {
		t.Run(tc.stage, func(t *testing.T) {
			tr := newTestRoot(t, func(sc *sim.Scenario) { sc.Fail.SetupAfter = tc.stage })
			out, err := run(t, newFakeDirectory("ServiceAdmin").env(), msgSetup, tr.media, []string{"-k"}, runbookAnswers(tr.root, "1, 2, 3, 4")...)
			var ee *sim.ExitError
			if !errors.As(err, &ee) || !strings.Contains(out, "ERROR: ") || strings.Contains(out, "Installation complete.") {
				t.Fatalf("err %v, want a failure:\n%s", err, out)
			}
			p := tr.st.Paths()
			if !exists(filepath.Join(p.Inst(), "backup.20020916103000", "config", "msg.conf")) {
				t.Errorf("no backup made before failing")
			}
			if got := exists(filepath.Join(p.Inst(), "config", "msg.conf")); got != tc.wantNewConfig {
				t.Errorf("msg.conf present = %v, want %v", got, tc.wantNewConfig)
			}
			if st := reload(t, tr.root); st.MsgVersion != tc.wantMsg {
				t.Errorf("MsgVersion %q, want %q", st.MsgVersion, tc.wantMsg)
			}
			if b, _ := os.ReadFile(filepath.Join(p.MsgLib(), "stored")); string(b) != tc.wantBinary {
				t.Errorf("stored binary %q, want %q", b, tc.wantBinary)
			}
			log, _ := os.ReadFile(filepath.Join(tr.root, "setup", "msg", "upgrade-20020916103000.log"))
			if !strings.Contains(string(log), "ERROR: ") {
				t.Errorf("the log does not record the failure:\n%s", log)
			}
		})
	}
}

func TestParseComponents(t *testing.T) {
	tests := []struct {
		in   string
		want []int
	}{
		{"All", []int{1, 2, 3, 4}},
		{"1, 2, 3, 4", []int{1, 2, 3, 4}},
		{"1,3,4", []int{1, 3, 4}},
		{"4 3 1", []int{1, 3, 4}},
		{"1, 2, 3", []int{1, 2, 3}},
		{"1, 2", nil},
		{"4", nil},
		{"1, 3", nil},
		{"x", nil},
		{"", nil},
	}
	for _, tc := range tests {
		got, err := parseComponents(tc.in)
		if !reflect.DeepEqual(got, tc.want) || (err == nil) != (tc.want != nil) {
			t.Errorf("parseComponents(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestSetupUpgradesTheInstanceItStartsFrom: with two slapd instances,
// setup -k (components 1, 2, 3) upgrades the shared binaries and only the
// instance whose directory it is started from (layout.md); started from
// elsewhere it upgrades none of them.
func TestSetupUpgradesTheInstanceItStartsFrom(t *testing.T) {
	tests := []struct {
		name  string
		cwd   string // "" = the media directory
		wantA string // slapd-budgie
		wantB string // slapd-config
	}{
		{"from the media", "", "4.13", "4.13"},
		{"from slapd-budgie", "budgie", "4.16", "4.13"},
		{"from slapd-config", "config", "4.13", "4.16"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestRoot(t, func(sc *sim.Scenario) { sc.DSInstances = []string{"budgie", "config"} })
			st := reload(t, tr.root)
			dir := tr.media
			if tc.cwd != "" {
				dir = st.Paths().Slapd(tc.cwd)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			t.Chdir(dir)
			answers := []string{"", "yes", "", tr.root, "1, 2, 3", "", "", testAdminPw, ""}
			out, err := run(t, newFakeDirectory("ServiceAdmin").env(), msgSetup, tr.media, []string{"-k"}, answers...)
			if err != nil {
				t.Fatalf("setup: %v\n%s", err, out)
			}
			st = reload(t, tr.root)
			if st.DSVersion != "4.16" {
				t.Errorf("shared binaries at %s; want 4.16", st.DSVersion)
			}
			if a, b := st.InstanceDSVersion("budgie"), st.InstanceDSVersion("config"); a != tc.wantA || b != tc.wantB {
				t.Errorf("instances budgie %s, config %s; want %s, %s", a, b, tc.wantA, tc.wantB)
			}
			inf, err := os.ReadFile(filepath.Join(st.Paths().Slapd("config"), "config", "instance.inf"))
			if err != nil || !strings.Contains(string(inf), "Version= "+tc.wantB+"\n") {
				t.Errorf("slapd-config/config/instance.inf = %q (%v); want Version= %s", inf, err, tc.wantB)
			}
		})
	}
}
