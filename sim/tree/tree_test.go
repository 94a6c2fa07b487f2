package tree

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
)

func TestUserID(t *testing.T) {
	for _, tc := range []struct {
		i    int
		want string
	}{{1, "user0001"}, {42, "user0042"}, {9999, "user9999"}, {12345, "user12345"}} {
		if got := UserID(tc.i); got != tc.want {
			t.Errorf("UserID(%d) = %q, want %q", tc.i, got, tc.want)
		}
	}
}

func TestMailboxDir(t *testing.T) {
	seen := map[string]bool{}
	for i := 1; i <= 200; i++ {
		d := MailboxDir(UserID(i))
		parts := strings.Split(d, "/")
		if len(parts) != 4 || parts[0] != "=user" || len(parts[1]) != 2 || len(parts[2]) != 2 || parts[3] != "="+UserID(i) {
			t.Fatalf("MailboxDir(%s) = %q", UserID(i), d)
		}
		if MailboxDir(UserID(i)) != d {
			t.Fatalf("MailboxDir not deterministic for %s", UserID(i))
		}
		seen[parts[1]] = true
	}
	if len(seen) < 20 {
		t.Errorf("hash spreads 200 mailboxes over only %d first-level dirs", len(seen))
	}
}

// treeCase is one scenario of TestWriteTree and what its files must say.
type treeCase struct {
	name   string
	mutate func(*sim.Scenario)
	// install.inf keys ("section.Key") and values; "" means the key is absent.
	inf          map[string]string
	admLdapURL   string
	admLdapStart string
	slapdInf     map[string]string // nil: no slapd.inf
	ndaVersion   string            // "": no nda.inf
	msgConf      map[string]string
	localConf    map[string]string
	webServer    bool
	daInServlets bool
}

func treeCases() []treeCase {
	return []treeCase{
		{
			name: "default single directory",
			mutate: func(sc *sim.Scenario) {
				sc.Queue = sim.QueueSpec{Messages: 120, Held: 7, Temp: 5}
				sc.MailLog = sim.MailLogSpec{E: 30, D: 25, Q: 4, R: 2, J: 1, B: 1, Garbage: 3}
			},
			inf: map[string]string{
				"General.FullMachineName":         "mail.siroe.com",
				"General.SuiteSpotUserID":         "mailsrv",
				"General.SuiteSpotGroup":          "mail",
				"General.AdminDomain":             "siroe.com",
				"General.ConfigDirectoryLdapURL":  "ldap://127.0.0.1:3891/o=NetscapeRoot",
				"General.ConfigDirectoryAdminID":  "admin",
				"General.ConfigDirectoryAdminPwd": "admin-Secret-4412",
				"General.UserDirectoryLdapURL":    "ldap://127.0.0.1:3891/o=siroe.com",
				"General.Components":              "nsperl,svrcore,base,slapd,admin,msg",
				"slapd.ServerPort":                "3891",
				"slapd.ServerIdentifier":          "budgie",
				"slapd.Suffix":                    "o=siroe.com",
				"slapd.RootDN":                    "cn=Directory Manager",
				"slapd.RootDNPwd":                 "dm-Secret-7731",
				"admin.Port":                      "35555",
				"admin.ServerAdminID":             "admin",
				"admin.ServerAdminPwd":            "admin-Secret-4412",
				"msg.InstanceName":                "msg-budgie",
				"msg.ServiceAdminID":              "ServiceAdmin",
				"msg.ServiceAdminPassword":        "svc-Secret-9920",
			},
			admLdapURL:   "ldap://127.0.0.1:3891/o=NetscapeRoot",
			admLdapStart: "slapd-budgie/start-slapd",
			slapdInf:     map[string]string{"slapd.Version": "4.13", "slapd.BuildNumber": "B01.044.2317", "slapd.Vendor": "Netscape Communications Corp."},
			msgConf: map[string]string{
				"service.imap.port": "3143", "service.pop.port": "3110", "service.http.port": "3080",
				"alarm.diskavail.msgalarmthreshold": "10",
			},
			localConf: map[string]string{
				"local.hostname": "mail.siroe.com", "local.defdomain": "siroe.com", "local.ugldaphost": "127.0.0.1",
				"local.ugldapport": "3891", "local.ugldapbasedn": "o=siroe.com", "local.ugldapbinddn": "cn=Directory Manager",
				"local.ugldapbindcred": "ugcred-Secret-1187", "local.service.pab.ldappasswd": "pab-Secret-5503",
			},
		},
		{
			name: "two directories, web server, DA, customizations",
			mutate: func(sc *sim.Scenario) {
				sc.Instance = "mail"
				sc.DSInstances = []string{"ug", "cfg"}
				sc.WebServer = "6.0SP1"
				sc.DA = "1.1"
				sc.Users = 12
				sc.Store.MessagesPerBox = 2
				sc.Secrets.ServiceAdminID = "msgadmin"
				sc.Queue = sim.QueueSpec{Messages: 300, Held: 300, Temp: 2, Subdirs: 4, Channels: []string{"tcp_local", "ims-ms", "custom_x"}, Size: 700, OldestAge: 72 * time.Hour}
				sc.Customizations = map[string]string{"service.imap.port": "1143", "store.expirestart": "23", "local.imta.catchall": "catchall@siroe.com"}
			},
			inf: map[string]string{
				"General.ConfigDirectoryLdapURL": "ldap://127.0.0.1:3892/o=NetscapeRoot",
				"General.UserDirectoryLdapURL":   "ldap://127.0.0.1:3891/o=siroe.com",
				"slapd.ServerIdentifier":         "ug",
				"msg.InstanceName":               "msg-mail",
				"msg.ServiceAdminID":             "msgadmin",
			},
			admLdapURL:   "ldap://127.0.0.1:3892/o=NetscapeRoot",
			admLdapStart: "slapd-cfg/start-slapd",
			slapdInf:     map[string]string{"slapd.Version": "4.13"},
			ndaVersion:   "1.1",
			msgConf:      map[string]string{"service.imap.port": "1143", "store.expirestart": "23", "service.pop.port": "3110"},
			localConf:    map[string]string{"local.imta.catchall": "catchall@siroe.com", "local.ugldapport": "3891"},
			webServer:    true,
			daInServlets: true,
		},
		{
			name: "external directory 4.16, web server without DA",
			mutate: func(sc *sim.Scenario) {
				sc.DSExternal = true
				sc.DSExternalURL = "ldap://dir.siroe.com:1389"
				sc.DSVersion = "4.16"
				sc.WebServer = "4.1"
				sc.Store.Mailboxes = 5
			},
			inf: map[string]string{
				"General.ConfigDirectoryLdapURL": "ldap://dir.siroe.com:1389/o=NetscapeRoot",
				"General.UserDirectoryLdapURL":   "ldap://dir.siroe.com:1389/o=siroe.com",
				"General.Components":             "nsperl,svrcore,base,admin,msg",
				"slapd.ServerIdentifier":         "",
				"slapd.RootDNPwd":                "",
			},
			admLdapURL: "ldap://dir.siroe.com:1389/o=NetscapeRoot",
			localConf:  map[string]string{"local.ugldaphost": "dir.siroe.com", "local.ugldapport": "1389"},
			webServer:  true,
		},
	}
}

func TestWriteTree(t *testing.T) {
	for _, tc := range treeCases() {
		t.Run(tc.name, func(t *testing.T) {
			st := newState(t, tc.mutate)
			sc := &st.Scenario
			p := st.Paths()
			start := time.Now()
			if err := writeTree(context.Background(), st, "", io.Discard); err != nil {
				t.Fatalf("writeTree: %v", err)
			}

			inf := readINI(t, p.InstallInf())
			if got := inf["General.ServerRoot"]; got != sc.Root {
				t.Errorf("install.inf ServerRoot = %q, want %q", got, sc.Root)
			}
			for k, want := range tc.inf {
				got, ok := inf[k]
				if want == "" && ok {
					t.Errorf("install.inf %s = %q, want absent", k, got)
				} else if want != "" && got != want {
					t.Errorf("install.inf %s = %q, want %q", k, got, want)
				}
			}

			adm := readColon(t, filepath.Join(sc.Root, "admin-serv", "config", "adm.conf"))
			if adm["port"] != "35555" || adm["ldapurl"] != tc.admLdapURL || adm["ldapStart"] != tc.admLdapStart {
				t.Errorf("adm.conf port=%q ldapurl=%q ldapStart=%q, want 35555 %q %q", adm["port"], adm["ldapurl"], adm["ldapStart"], tc.admLdapURL, tc.admLdapStart)
			}

			checkOptionalINI(t, SlapdInf(p), tc.slapdInf)
			var nda map[string]string
			if tc.ndaVersion != "" {
				nda = map[string]string{"nda.Version": tc.ndaVersion}
			}
			checkOptionalINI(t, NdaInf(p), nda)

			checkKeys(t, "msg.conf", readConf(t, MsgConf(p)), tc.msgConf)
			checkKeys(t, "local.conf", readConf(t, LocalConf(p)), tc.localConf)
			if got := readConf(t, MsgConf(p))["store.partition.primary.path"]; got != p.Store() {
				t.Errorf("store.partition.primary.path = %q, want %q", got, p.Store())
			}

			checkIMTA(t, st)
			for _, name := range HTMLFiles() {
				mustRegular(t, filepath.Join(p.Inst(), "html", name))
			}
			for _, d := range []string{filepath.Join(p.Inst(), "log", "imta"), filepath.Join(p.Inst(), "store", "mboxlist")} {
				if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
					t.Errorf("directory %s missing: %v", d, err)
				}
			}
			checkWebServer(t, st, tc.webServer, tc.daInServlets)

			got := walkQueue(t, p.Queue(), start, sc.Queue.Subdirs > 0)
			want := ExpectedQueue(sc.Queue)
			compareQueue(t, got, want, time.Since(start))

			uids, files := walkStore(t, p.Store())
			wantBoxes, wantFiles := ExpectedStore(sc.Store)
			if len(uids) != wantBoxes || files != wantFiles {
				t.Errorf("store has %d mailboxes, %d files; want %d, %d", len(uids), files, wantBoxes, wantFiles)
			}
			slices.Sort(uids)
			for i, u := range uids {
				if u != UserID(i+1) {
					t.Fatalf("mailbox %d is %q, want %q", i, u, UserID(i+1))
				}
			}

			if gotLog, wantLog := parseMailLog(t, p.MailLog()), ExpectedMailLog(sc.MailLog); !reflect.DeepEqual(gotLog, wantLog) {
				t.Errorf("mail log counts %+v, want %+v", gotLog, wantLog)
			}
		})
	}
}

func checkOptionalINI(t *testing.T, path string, want map[string]string) {
	t.Helper()
	if want == nil {
		if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists (err %v), want absent", path, err)
		}
		return
	}
	checkKeys(t, filepath.Base(path), readINI(t, path), want)
}

func checkKeys(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s %s = %q, want %q", what, k, got[k], v)
		}
	}
}

func mustRegular(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		t.Errorf("%s: want a non-empty file (err %v)", path, err)
	}
}

func checkIMTA(t *testing.T, st *sim.State) {
	t.Helper()
	dir := IMTAConfigDir(st.Paths())
	for _, f := range []string{"imta.cnf", "dispatcher.cnf", "job_controller.cnf", "option.dat", "mappings", "aliases", "imta_tailor"} {
		mustRegular(t, filepath.Join(dir, f))
	}
	disp := readINI(t, filepath.Join(dir, "dispatcher.cnf"))
	if got := disp["SERVICE=SMTP.PORT"]; got != "3025" {
		t.Errorf("dispatcher.cnf [SERVICE=SMTP] PORT = %q, want 3025", got)
	}
	b, err := os.ReadFile(filepath.Join(dir, "imta.cnf"))
	if err != nil {
		t.Fatal(err)
	}
	// Channel blocks: after a blank line, the first word of the first line.
	defined := map[string]bool{}
	blocks := strings.Split(string(b), "\n\n")
	for _, blk := range blocks[1:] {
		if f := strings.Fields(blk); len(f) > 0 && !strings.HasPrefix(f[0], "!") {
			defined[f[0]] = true
		}
	}
	for _, ch := range append([]string{"l"}, st.Scenario.Queue.Channels...) {
		if !defined[ch] {
			t.Errorf("imta.cnf defines no channel %q (defined: %v)", ch, defined)
		}
	}
	tailor := readINI(t, filepath.Join(dir, "imta_tailor"))
	if got := tailor[".IMTA_QUEUE"]; got != st.Paths().Queue()+"/" {
		t.Errorf("imta_tailor IMTA_QUEUE = %q", got)
	}
}

func checkWebServer(t *testing.T, st *sim.State, want, da bool) {
	t.Helper()
	sc := &st.Scenario
	files := []string{
		filepath.Join(WebServerAdmin(sc), "config", "magnus.conf"),
		filepath.Join(WebServerInstance(sc), "config", "magnus.conf"),
		filepath.Join(WebServerInstance(sc), "config", "servlets.properties"),
	}
	if !want {
		for _, f := range append(files, WebServerAdmin(sc), WebServerInstance(sc)) {
			if _, err := os.Stat(f); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("%s exists without a web server", f)
			}
		}
		return
	}
	for _, f := range files {
		mustRegular(t, f)
	}
	for i, port := range []string{"Port 38888", "Port 3081"} {
		b, _ := os.ReadFile(files[i])
		if !strings.Contains(string(b), "\n"+port+"\n") {
			t.Errorf("%s lacks %q", files[i], port)
		}
	}
	b, _ := os.ReadFile(files[2])
	if got := strings.Contains(string(b), "servlet.nda."); got != da {
		t.Errorf("servlets.properties holds DA settings = %v, want %v", got, da)
	}
}

func compareQueue(t *testing.T, got, want map[string]QueueCounts, slack time.Duration) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("queue channels on disk %v, want %v", keysOf(got), keysOf(want))
	}
	for ch, w := range want {
		g := got[ch]
		// mtimes were set relative to a "now" taken after the walk's
		// reference time, within slack.
		if g.OldestAge > w.OldestAge || g.OldestAge < w.OldestAge-slack {
			t.Errorf("channel %s oldest age %v, want %v (-%v)", ch, g.OldestAge, w.OldestAge, slack)
		}
		g.OldestAge, w.OldestAge = 0, 0
		if g != w {
			t.Errorf("channel %s on disk %+v, want %+v", ch, g, w)
		}
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestWriteVersionFiles(t *testing.T) {
	st := newState(t, func(sc *sim.Scenario) { sc.DA = "1.1" })
	if err := writeTree(context.Background(), st, "", io.Discard); err != nil {
		t.Fatal(err)
	}
	p := st.Paths()
	for _, step := range []struct {
		ds, da        string
		wantDS, build string
	}{
		{"4.16", "1.1", "4.16", "B02.060.1530"},
		{"4.16", "1.2", "4.16", "B02.060.1530"},
		{"4.16", "", "4.16", "B02.060.1530"},
		{"4.13", "1.2", "4.13", "B01.044.2317"},
	} {
		st.DSVersion, st.DA = step.ds, step.da
		if err := WriteVersionFiles(st); err != nil {
			t.Fatalf("WriteVersionFiles(%s, %s): %v", step.ds, step.da, err)
		}
		checkKeys(t, "slapd.inf", readINI(t, SlapdInf(p)), map[string]string{"slapd.Version": step.wantDS, "slapd.BuildNumber": step.build})
		var nda map[string]string
		if step.da != "" {
			nda = map[string]string{"nda.Version": step.da}
		}
		checkOptionalINI(t, NdaInf(p), nda)
	}
	st.DSVersion = "9.9"
	if err := WriteVersionFiles(st); err == nil {
		t.Error("WriteVersionFiles accepted directory version 9.9")
	}
}

func TestWriteMsgConfigCustomizations(t *testing.T) {
	custom := map[string]string{"service.pop.port": "1110", "logfile.imap.loglevel": "Debug", "local.extra": "yes", "service.extra": "1"}
	for _, tc := range []struct {
		with bool
		msg  map[string]string
		loc  map[string]string
	}{
		{true, map[string]string{"service.pop.port": "1110", "logfile.imap.loglevel": "Debug", "service.extra": "1"}, map[string]string{"local.extra": "yes"}},
		{false, map[string]string{"service.pop.port": "3110", "logfile.imap.loglevel": "Notice", "service.extra": ""}, map[string]string{"local.extra": ""}},
	} {
		st := newState(t, func(sc *sim.Scenario) { sc.Customizations = custom })
		if err := WriteMsgConfig(st, tc.with); err != nil {
			t.Fatal(err)
		}
		checkKeys(t, "msg.conf", readConf(t, MsgConf(st.Paths())), tc.msg)
		checkKeys(t, "local.conf", readConf(t, LocalConf(st.Paths())), tc.loc)
		// A key is defined once: customisations change values in place.
		b, _ := os.ReadFile(MsgConf(st.Paths()))
		if n := strings.Count(string(b), "service.pop.port ="); n != 1 {
			t.Errorf("with=%v: service.pop.port defined %d times", tc.with, n)
		}
	}
}

func TestDirectoryHostPorts(t *testing.T) {
	for _, tc := range []struct {
		name         string
		sc           sim.Scenario
		config, user string
		wantErr      bool
	}{
		{"one instance", sim.Scenario{DSInstances: []string{"a"}, Ports: sim.Ports{LDAP: 389}}, "127.0.0.1:389", "127.0.0.1:389", false},
		{"two instances", sim.Scenario{DSInstances: []string{"a", "b"}, Ports: sim.Ports{LDAP: 389, LDAPConfig: 390}}, "127.0.0.1:390", "127.0.0.1:389", false},
		{"external with port", sim.Scenario{DSExternal: true, DSExternalURL: "ldap://dir.example:1389/o=siroe.com"}, "dir.example:1389", "dir.example:1389", false},
		{"external without port", sim.Scenario{DSExternal: true, DSExternalURL: "ldap://dir.example"}, "dir.example:389", "dir.example:389", false},
		{"external not a URL", sim.Scenario{DSExternal: true, DSExternalURL: "dir.example"}, "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, user, err := directoryHostPorts(&tc.sc)
			if (err != nil) != tc.wantErr || cfg != tc.config || user != tc.user {
				t.Errorf("directoryHostPorts = %q, %q, %v; want %q, %q, error %v", cfg, user, err, tc.config, tc.user, tc.wantErr)
			}
		})
	}
}
