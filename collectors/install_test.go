package collectors

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// fixtureSecrets are the secret values written into the testdata files;
// none may ever appear in facts.
var fixtureSecrets = []string{
	"Secret-ConfigAdmin-7f3a", "Secret-RootDN-91bc", "Secret-ServerAdmin-4e21", "Secret-ServiceAdmin-d00d",
	"Secret-SSO-aa11", "U2VjcmV0LVNTSEEtaGFzaA==", "Secret-UGBind-5c5c", "Secret-PAB-6b6b",
	"Secret-OldBind-7e7e", "Secret-SIEPwd-1234", "Secret-Servlet-3a3a",
}

// assertNoSecrets fails t when the JSON of v holds a fixture secret.
func assertNoSecrets(t *testing.T, v any) {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range fixtureSecrets {
		if strings.Contains(string(data), s) {
			t.Errorf("secret %q appears in the facts JSON: %s", s, data)
		}
	}
}

// rootBuilder writes a server root by hand, following layout.md.
type rootBuilder struct {
	t    *testing.T
	root string
	repl []string // placeholder, value, ... for fixture files
}

func newRoot(t *testing.T) *rootBuilder {
	return &rootBuilder{t: t, root: filepath.Join(t.TempDir(), "server5")}
}

// dir creates directories under the root.
func (b *rootBuilder) dir(rels ...string) *rootBuilder {
	for _, rel := range rels {
		if err := os.MkdirAll(filepath.Join(b.root, rel), 0o755); err != nil {
			b.t.Fatal(err)
		}
	}
	return b
}

// file writes data to rel under the root.
func (b *rootBuilder) file(rel, data string, mode os.FileMode) *rootBuilder {
	p := filepath.Join(b.root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		b.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(data), mode); err != nil {
		b.t.Fatal(err)
	}
	return b
}

// fixture copies testdata/<name> to rel, with b.repl and extra
// placeholders replaced.
func (b *rootBuilder) fixture(rel, name string, extra ...string) *rootBuilder {
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		b.t.Fatal(err)
	}
	s := strings.NewReplacer(append(append([]string{}, b.repl...), extra...)...).Replace(string(data))
	return b.file(rel, s, 0o644)
}

// script writes an executable shell script printing out and exiting code.
func (b *rootBuilder) script(rel, out string, code int) *rootBuilder {
	var s strings.Builder
	s.WriteString("#!/bin/sh\n")
	for _, l := range strings.Split(out, "\n") {
		if l != "" {
			s.WriteString("echo '" + l + "'\n")
		}
	}
	s.WriteString("exit " + string(rune('0'+code)) + "\n")
	return b.file(rel, s.String(), 0o755)
}

// standard builds a valid root: admin-serv, install.inf, msg-budgie with
// its configuration, slapd-budgie, the Web Server instances.
func (b *rootBuilder) standard() *rootBuilder {
	if len(b.repl) == 0 {
		b.repl = []string{"@SMTP_PORT@", "25", "@IMAP_PORT@", "143"}
	}
	return b.dir("admin-serv/config", "slapd-budgie/config", "msg-budgie/store/partition/primary",
		"msg-budgie/imta/queue/tcp_local", "msg-budgie/log/imta").
		fixture("setup/install.inf", "install/install.inf").
		fixture("admin-serv/config/adm.conf", "configs/adm.conf").
		fixture("msg-budgie/config/msg.conf", "configs/msg.conf").
		fixture("msg-budgie/config/local.conf", "configs/local.conf").
		fixture("msg-budgie/imta/config/imta.cnf", "configs/imta.cnf").
		fixture("msg-budgie/imta/config/dispatcher.cnf", "configs/dispatcher.cnf").
		fixture("msg-budgie/imta/config/job_controller.cnf", "configs/job_controller.cnf").
		fixture("msg-budgie/backup.20020916120000/config/msg.conf", "configs/backup-msg.conf").
		fixture("https-admserv/config/magnus.conf", "configs/magnus.conf", "@NAME@", "admserv", "@PORT@", "8888").
		fixture("https-mail.siroe.com/config/magnus.conf", "configs/magnus.conf", "@NAME@", "mail.siroe.com", "@PORT@", "8080").
		fixture("https-mail.siroe.com/config/servlets.properties", "configs/servlets.properties").
		fixture("https-mail.siroe.com/config/servlets.properties.nda", "configs/servlets.properties.nda")
}

func TestResolveTarget(t *testing.T) {
	type want struct {
		valid        bool
		problems     []string // substrings, in order
		instance     string
		wsroot       bool
		msgs, https  []string
		machine      string
		same         bool
		storeExists  bool
		backups      []string
		installInfOK bool
	}
	tests := []struct {
		name  string
		build func(b *rootBuilder)
		opts  Options
		want  want
	}{
		{
			name:  "valid root, short host name",
			build: func(b *rootBuilder) { b.standard() },
			opts:  Options{Hostnames: []string{"MAIL"}},
			want: want{valid: true, instance: "budgie", wsroot: true, msgs: []string{"msg-budgie"},
				https: []string{"https-admserv", "https-mail.siroe.com"}, machine: "mail.siroe.com", same: true,
				storeExists: true, backups: []string{"msg-budgie/backup.20020916120000"}, installInfOK: true},
		},
		{
			name:  "another host, instance given with msg- prefix",
			build: func(b *rootBuilder) { b.standard().dir("msg-other") },
			opts:  Options{Instance: "msg-budgie", Hostnames: []string{"relay.siroe.com", "relay"}},
			want: want{valid: true, instance: "budgie", wsroot: true, msgs: []string{"msg-budgie", "msg-other"},
				https: []string{"https-admserv", "https-mail.siroe.com"}, machine: "mail.siroe.com",
				storeExists: true, backups: []string{"msg-budgie/backup.20020916120000"}, installInfOK: true},
		},
		{
			name:  "empty root",
			build: func(b *rootBuilder) { b.dir(".") },
			opts:  Options{Hostnames: []string{"mail.siroe.com"}},
			want:  want{problems: []string{"no admin-serv/", "no msg-* messaging instance", "no setup/install.inf"}},
		},
		{
			name: "malformed install.inf, no store, no web server",
			build: func(b *rootBuilder) {
				b.dir("admin-serv", "msg-budgie").fixture("setup/install.inf", "install/install-malformed.inf")
			},
			opts: Options{Hostnames: []string{"mail.siroe.com"}},
			want: want{problems: []string{"setup/install.inf: line 4"}, instance: "budgie", msgs: []string{"msg-budgie"}},
		},
		{
			name:  "unknown instance",
			build: func(b *rootBuilder) { b.standard() },
			opts:  Options{Instance: "nope", Hostnames: []string{"mail.siroe.com"}},
			want: want{problems: []string{"instance msg-nope not found"}, instance: "nope", wsroot: true,
				msgs: []string{"msg-budgie"}, https: []string{"https-admserv", "https-mail.siroe.com"},
				machine: "mail.siroe.com", same: true, installInfOK: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newRoot(t)
			tt.build(b)
			tt.opts.ServerRoot = b.root
			target, in, err := ResolveTarget(tt.opts)
			if err != nil {
				t.Fatalf("ResolveTarget: %v", err)
			}
			w := tt.want
			if in.Valid != w.valid {
				t.Errorf("Valid = %v; want %v (problems %q)", in.Valid, w.valid, in.Problems)
			}
			if len(in.Problems) != len(w.problems) {
				t.Errorf("Problems = %q; want %d matching %q", in.Problems, len(w.problems), w.problems)
			} else {
				for i, p := range w.problems {
					if !strings.Contains(in.Problems[i], p) {
						t.Errorf("Problems[%d] = %q; want it to contain %q", i, in.Problems[i], p)
					}
				}
			}
			if target.Root != b.root || target.Instance != w.instance {
				t.Errorf("Root, Instance = %q, %q; want %q, %q", target.Root, target.Instance, b.root, w.instance)
			}
			if w.instance != "" && target.InstDir != filepath.Join(b.root, "msg-"+w.instance) {
				t.Errorf("InstDir = %q", target.InstDir)
			}
			if wantWS := map[bool]string{true: b.root}[w.wsroot]; target.WSRoot != wantWS {
				t.Errorf("WSRoot = %q; want %q", target.WSRoot, wantWS)
			}
			if !reflect.DeepEqual(in.MsgInstances, w.msgs) || !reflect.DeepEqual(in.HTTPSInstances, w.https) {
				t.Errorf("instances = %q, %q; want %q, %q", in.MsgInstances, in.HTTPSInstances, w.msgs, w.https)
			}
			if in.FullMachineName != w.machine || in.SameMachine != w.same {
				t.Errorf("FullMachineName, SameMachine = %q, %v; want %q, %v", in.FullMachineName, in.SameMachine, w.machine, w.same)
			}
			if in.StoreExists != w.storeExists || !reflect.DeepEqual(in.Backups, w.backups) {
				t.Errorf("StoreExists, Backups = %v, %q; want %v, %q", in.StoreExists, in.Backups, w.storeExists, w.backups)
			}
			if (in.InstallInf != nil) != w.installInfOK || (target.InstallInf != nil) != w.installInfOK {
				t.Errorf("InstallInf present = %v; want %v", in.InstallInf != nil, w.installInfOK)
			}
			assertNoSecrets(t, in)
		})
	}
}

func TestResolveTargetDetails(t *testing.T) {
	b := newRoot(t).standard().dir("slapd-config")
	target, in, err := ResolveTarget(Options{ServerRoot: b.root + "/./", Hostnames: []string{"Mail.Siroe.COM."}})
	if err != nil {
		t.Fatal(err)
	}
	if target.Root != b.root {
		t.Errorf("Root = %q; want the cleaned %q", target.Root, b.root)
	}
	if !reflect.DeepEqual(target.SlapdIDs, []string{"budgie", "config"}) || !reflect.DeepEqual(in.SlapdInstances, []string{"slapd-budgie", "slapd-config"}) {
		t.Errorf("slapd = %q, %q", target.SlapdIDs, in.SlapdInstances)
	}
	if !reflect.DeepEqual(in.ThisHost, []string{"mail.siroe.com"}) || !in.SameMachine {
		t.Errorf("ThisHost, SameMachine = %q, %v", in.ThisHost, in.SameMachine)
	}
	if got := in.StorePath; got != filepath.Join(b.root, "msg-budgie/store/partition/primary") {
		t.Errorf("StorePath = %q", got)
	}
	if got := in.QueuePath; got != filepath.Join(b.root, "msg-budgie/imta/queue") {
		t.Errorf("QueuePath = %q", got)
	}
	// The Target keeps the secrets for the collectors; the facts do not.
	if got := target.InstallInf["General"]["ConfigDirectoryAdminPwd"]; got != "Secret-ConfigAdmin-7f3a" {
		t.Errorf("Target install.inf password = %q; want the real value", got)
	}
	wantInf := map[string]string{"ServerPort": "389", "ServerIdentifier": "budgie", "Suffix": "o=siroe.com",
		"RootDN": "cn=Directory Manager", "RootDNPwd": "<redacted>"}
	if !reflect.DeepEqual(in.InstallInf["slapd"], wantInf) {
		t.Errorf("install.inf [slapd] = %q; want %q", in.InstallInf["slapd"], wantInf)
	}
	for sec, key := range map[string]string{"General": "ConfigDirectoryAdminPwd", "admin": "ServerAdminPwd", "msg": "ServiceAdminPassword"} {
		if got := in.InstallInf[sec][key]; got != "<redacted>" {
			t.Errorf("install.inf [%s] %s = %q; want <redacted>", sec, key, got)
		}
	}
	assertNoSecrets(t, in)

	// A separate Web Server root lists its own instances.
	ws := filepath.Join(t.TempDir(), "ws")
	if err := os.MkdirAll(filepath.Join(ws, "https-www"), 0o755); err != nil {
		t.Fatal(err)
	}
	target, in, err = ResolveTarget(Options{ServerRoot: b.root, WebServerRoot: ws, Hostnames: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if target.WSRoot != ws || !reflect.DeepEqual(in.HTTPSInstances, []string{"https-www"}) || !in.Valid {
		t.Errorf("WSRoot, HTTPSInstances, Valid = %q, %q, %v", target.WSRoot, in.HTTPSInstances, in.Valid)
	}
}

func TestResolveTargetErrors(t *testing.T) {
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	two := newRoot(t).dir("msg-a", "msg-b")
	tests := []struct {
		name string
		root string
		want []string
	}{
		{"none given", "", []string{"--server-root"}},
		{"missing", filepath.Join(tmp, "nope"), []string{filepath.Join(tmp, "nope"), "does not exist", "--server-root", "setup/install.inf"}},
		{"not a directory", file, []string{file, "is not a directory", "--server-root"}},
		{"two instances", two.root, []string{"msg-a, msg-b", "--instance"}},
	}
	if os.Geteuid() != 0 {
		locked := filepath.Join(tmp, "locked")
		if err := os.Mkdir(locked, 0o000); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct {
			name string
			root string
			want []string
		}{"unreadable", locked, []string{locked, "unreadable"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ResolveTarget(Options{ServerRoot: tt.root, Hostnames: []string{"h"}})
			if err == nil {
				t.Fatal("ResolveTarget: no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSameMachine(t *testing.T) {
	tests := []struct {
		full  string
		hosts []string
		want  bool
	}{
		{"mail.siroe.com", []string{"mail.siroe.com"}, true},
		{"MAIL.siroe.com", []string{"mail"}, true},
		{"mail", []string{"mail.siroe.com"}, true},
		{"mail.siroe.com.", []string{"other", "mail.siroe.com"}, true},
		{"mail.siroe.com", []string{"mail.other.com"}, false},
		{"mail.siroe.com", []string{"relay"}, false},
		{"", []string{""}, false},
		{"mail.siroe.com", nil, false},
	}
	for _, tt := range tests {
		if got := sameMachine(tt.full, tt.hosts); got != tt.want {
			t.Errorf("sameMachine(%q, %q) = %v; want %v", tt.full, tt.hosts, got, tt.want)
		}
	}
}

func TestLocalHostnames(t *testing.T) {
	name, err := os.Hostname()
	if err != nil {
		t.Skip("no host name:", err)
	}
	got := normaliseHosts(localHostnames())
	if !reflect.DeepEqual(got, normaliseHosts(got)) || len(got) == 0 {
		t.Fatalf("localHostnames() = %q", got)
	}
	if !sameMachine(name, got) {
		t.Errorf("localHostnames() = %q does not include %q", got, name)
	}
}
