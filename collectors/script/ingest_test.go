package script

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/redact"
	"github.com/msguard/msguard/internal/exitcode"
)

// fakeRoot writes a small server root (no daemons, no directory) whose
// configuration files hold secrets in every form the redaction knows.
func fakeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "server5")
	base := map[string]string{
		"admin-serv/config/adm.conf": "port: 5555\nsiepid: sie-Secret-1\n",
		"setup/install.inf": "[General]\nFullMachineName= mail.siroe.com\nUserDirectoryLdapURL= ldap://127.0.0.1:1/o=siroe.com\n" +
			"ConfigDirectoryAdminPwd= inf-Secret-2\n[slapd]\nRootDNPwd={SSHA}inf-Secret-3\n",
		"msg-budgie/imta/config/imta.cnf":                           "a $U@b\n\ntcp_local smtp\ntcp-daemon\n",
		"msg-budgie/imta/config/dispatcher.cnf":                     "[SERVICE=SMTP]\nPORT=25\n",
		"msg-budgie/imta/config/job_controller.cnf":                 "SYNCH_TIME=00:00\nSECRET=jc-Secret-4\n",
		"msg-budgie/config/local.conf":                              "local.ugldapbindcred = \"lc-Secret-5\"\n",
		"msg-budgie/imta/queue/tcp_local/ZZ01.00":                   "x",
		"msg-budgie/store/partition/primary/=user/00/00/=joe/1.msg": "m",
		"msg-budgie/log/imta/mail.log_current":                      "19-Jan-1998 19:16:57.64 tcp_local ims-ms E 1 a@b rfc822;c@d c@d\n",
	}
	for k, v := range files {
		base[k] = v
	}
	for name, data := range base {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// pathWithout is a GNU-free PATH directory lacking the named applets.
func pathWithout(t *testing.T, drop ...string) string {
	t.Helper()
	dir, _ := gnuFreePath(t)
	for _, d := range drop {
		if err := os.Remove(filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// emitTo writes the script with root as its default and returns its path.
func emitTo(t *testing.T, d Defaults) string {
	t.Helper()
	var b bytes.Buffer
	if err := Emit(&b, d); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "collect.sh")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRedactionParity checks, for each form of secret, that the bundle
// never holds it and that the ingested configuration facts are those a
// live collect gives.
func TestRedactionParity(t *testing.T) {
	tests := []struct {
		name, file, content, secret string
	}{
		{"msg.conf quoted", "msg-budgie/config/msg.conf", "local.service.pab.ldappasswd = \"pab S3cret-a\"\nservice.imap.port = 143\n", "S3cret-a"},
		{"msg.conf bare", "msg-budgie/config/msg.conf", "local.ugldapbindcred = S3cret-b\n", "S3cret-b"},
		{"msg.conf unterminated quote", "msg-budgie/config/msg.conf", "x.passwd = \"S3cret-c\n", "S3cret-c"},
		{"msg.conf inline pair", "msg-budgie/config/msg.conf", "local.url = \"ldap://h/o=x,password=S3cret-d;b=1\"\n", "S3cret-d"},
		{"msg.conf password hash", "msg-budgie/config/msg.conf", "local.anything = {SSHA}S3cret-e\n", "S3cret-e"},
		{"msg.conf line without key", "msg-budgie/config/msg.conf", "a = 1\nS3cret-f\n", "S3cret-f"},
		{"magnus inline", "https-admserv/config/magnus.conf", "Port 8080\nInit fn=x bindpw=S3cret-g\n", "S3cret-g"},
		{"properties continued secret", "https-admserv/config/servlets.properties", "servlet.x.password=S3cret-h\\\n  S3cret-i\nservlet.nda.initArgs=version=1.2\n", "S3cret-i"},
		{"properties inline", "https-admserv/config/servlets.properties", "servlet.nda.initArgs=ldapurl=ldap://h/o=x,password=S3cret-j,version=1.1\n", "S3cret-j"},
		{"adm.conf", "admin-serv/config/adm.conf", "port: 5555\nsiepid: S3cret-k\n", "S3cret-k"},
		{"dispatcher secret key", "msg-budgie/imta/config/dispatcher.cnf", "[SERVICE=SMTP]\nPORT=25\nSSL_PASSPHRASE=S3cret-l\n", "S3cret-l"},
		{"crlf", "msg-budgie/config/msg.conf", "a.pwd = S3cret-m\r\nservice.imap.port = 143\r\n", "S3cret-m"},
		{"magnus url query", "https-admserv/config/magnus.conf", "Port 8080\nLdapURL ldap://h:389/o=x?password=S3cret-n\n", "S3cret-n"},
		{"magnus url password", "https-admserv/config/magnus.conf", "Port 8080\nDirectoryURL ldap://admin:S3cret-o@h:389/o=NetscapeRoot\n", "S3cret-o"},
		{"magnus quoted bindpw", "https-admserv/config/magnus.conf", "Port 8080\nInit fn=\"ldap\" bindpw=\"S3 cret-p\" x=1\n", "cret-p"},
		{"properties url password", "https-admserv/config/servlets.properties", "servlet.nda.initArgs=ldapurl=ldap://cn=admin:S3cret-q@h/o=x,version=1.1\n", "S3cret-q"},
		{"msg.conf pair in a pair", "msg-budgie/config/msg.conf", "local.url = \"x=bindpw=S3cret-r\"\n", "S3cret-r"},
	}
	path := pathWithout(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{tt.file: tt.content}
			if strings.HasPrefix(tt.file, "https-admserv") {
				if _, ok := files["https-admserv/config/magnus.conf"]; !ok {
					files["https-admserv/config/magnus.conf"] = "Port 8080\n"
				}
				files["bin/https/bin/ns-httpd"] = ""
			}
			root := fakeRoot(t, files)
			live, err := collectors.Collect(context.Background(), collectors.Options{ServerRoot: root, StateDir: t.TempDir(), Path: t.TempDir(), Hostnames: []string{"x"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			bundle := runScript(t, "/bin/sh", emitTo(t, Defaults{ServerRoot: root}), path, "")
			text := bundleText(t, bundle)
			for _, secret := range []string{tt.secret, "sie-Secret-1", "inf-Secret-2", "inf-Secret-3", "jc-Secret-4", "lc-Secret-5"} {
				if bytes.Contains(text, []byte(secret)) {
					t.Errorf("bundle holds %q", secret)
				}
			}
			got, err := Ingest(context.Background(), bytes.NewReader(bundle))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Configs, live.Configs) {
				var diffs []string
				fieldDiff("", normalise(t, live)["configs"], normalise(t, got)["configs"], &diffs)
				t.Errorf("configs differ:\n%s", strings.Join(diffs, "\n"))
			}
			if !reflect.DeepEqual(got.Install.InstallInf, live.Install.InstallInf) {
				t.Errorf("install.inf = %v, live %v", got.Install.InstallInf, live.Install.InstallInf)
			}
		})
	}
}

// TestCmdlineRedaction runs a daemon of a fake root with secrets on its
// command line and checks the script redacts them as redact.Cmdline does.
func TestCmdlineRedaction(t *testing.T) {
	root := fakeRoot(t, nil)
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Fatalf("dash is needed: %v", err)
	}
	data, err := os.ReadFile(dash)
	if err != nil {
		t.Fatal(err)
	}
	stored := filepath.Join(root, "bin", "msg", "lib", "stored")
	if err := os.MkdirAll(filepath.Dir(stored), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stored, data, 0o755); err != nil {
		t.Fatal(err)
	}
	argv := []string{stored, "-c", "read x", "stored", "-w", "S3cret-w", "--password=S3cret-p", "ldap://u:S3cret-u@h/", "-j", "/pw"}
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); _ = cmd.Wait() })

	bundle := runScript(t, pathWithout(t)+"/sh", emitTo(t, Defaults{ServerRoot: root}), pathWithout(t), "")
	if text := bundleText(t, bundle); bytes.Contains(text, []byte("S3cret")) {
		t.Errorf("bundle holds a secret of the command line")
	}
	got, err := Ingest(context.Background(), bytes.NewReader(bundle))
	if err != nil {
		t.Fatal(err)
	}
	var found *facts.Process
	for i, p := range got.Processes.Daemons {
		if p.PID == int32(cmd.Process.Pid) {
			found = &got.Processes.Daemons[i]
		}
	}
	if found == nil {
		t.Fatalf("pid %d not among the daemons %+v", cmd.Process.Pid, got.Processes.Daemons)
	}
	if want := redact.Cmdline(argv); found.Cmdline != want || found.Daemon != "stored" || found.Role != "msg:budgie" {
		t.Errorf("process = %+v; want cmdline %q, daemon stored, role msg:budgie", *found, want)
	}
}

// TestIngestErrors checks the facts the script cannot gather are errors,
// and that broken bundles are usage errors.
func TestIngestErrors(t *testing.T) {
	root := fakeRoot(t, nil)
	tests := []struct {
		name      string
		drop      []string
		edit      func([]byte) []byte
		wantErr   string
		collector string // collector expected to fail ("": none checked)
		textOnly  bool
	}{
		{name: "no ldapsearch", drop: []string{"ldapsearch"}, collector: "ldap", wantErr: ""},
		{name: "no tar nor gzip: text bundle", drop: []string{"tar", "gzip"}, textOnly: true},
		{name: "no sha256sum", drop: []string{"sha256sum"}},
		{name: "truncated", drop: []string{"tar", "gzip"}, edit: func(b []byte) []byte { return b[:len(b)/2] }, wantErr: "bundle"},
		{name: "not a bundle", edit: func([]byte) []byte { return []byte("hello\n") }, wantErr: "not a msguard collector bundle"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := pathWithout(t, tt.drop...)
			b := runScript(t, path+"/sh", emitTo(t, Defaults{ServerRoot: root}), path, "")
			if tt.textOnly && !bytes.HasPrefix(b, []byte(bundleHeader)) {
				t.Errorf("bundle starts %q; want the text header", b[:min(len(b), 40)])
			}
			if tt.edit != nil {
				b = tt.edit(b)
			}
			s, err := Ingest(context.Background(), bytes.NewReader(b))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || exitcode.Of(err) != exitcode.Usage {
					t.Fatalf("Ingest() error = %v; want a usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.collector != "" && s.Collectors[tt.collector].Error == "" {
				t.Errorf("collector %s has no error: %+v", tt.collector, s.Collectors[tt.collector])
			}
			if s.Queue == nil || s.Queue.Total.Messages != 1 || s.Store == nil || s.Store.Mailboxes != 1 || s.MailLog == nil || s.MailLog.Records != 1 {
				t.Errorf("queue %+v store %+v maillog %+v", s.Queue, s.Store, s.MailLog)
			}
			if tt.name == "no sha256sum" && s.Configs.Files[0].SHA256 != "" {
				t.Errorf("sha256 %q without a tool", s.Configs.Files[0].SHA256)
			}
		})
	}
}

// TestIngestMissingRoot: a bundle of a missing server root is a usage error.
func TestIngestMissingRoot(t *testing.T) {
	path := pathWithout(t)
	b := runScript(t, path+"/sh", emitTo(t, Defaults{ServerRoot: "/nonexistent/server5"}), path, "")
	_, err := Ingest(context.Background(), bytes.NewReader(b))
	var ee *exitcode.Error
	if err == nil || !errors.As(err, &ee) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("Ingest() = %v; want a usage error saying the root does not exist", err)
	}
}

// TestTreeScanMtime checks the year ls -l leaves out is inferred.
func TestTreeScanMtime(t *testing.T) {
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	ts := newTreeScan("queue", "/q", now, time.UTC)
	tests := []struct {
		mon, day, tm string
		want         time.Time
	}{
		{"Jan", "5", "09:58", time.Date(2026, 1, 5, 9, 58, 0, 0, time.UTC)},
		{"Dec", "31", "23:59", time.Date(2025, 12, 31, 23, 59, 0, 0, time.UTC)},
		{"Mar", "3", "2019", time.Date(2019, 3, 3, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		if got := ts.mtime(tt.mon, tt.day, tt.tm); !got.Equal(tt.want) {
			t.Errorf("mtime(%s %s %s) = %v; want %v", tt.mon, tt.day, tt.tm, got, tt.want)
		}
	}
}
