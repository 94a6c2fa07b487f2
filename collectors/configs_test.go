package collectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
)

// resolve runs ResolveTarget on a built root and fails t on error.
func resolve(t *testing.T, opts Options) *Target {
	t.Helper()
	if len(opts.Hostnames) == 0 {
		opts.Hostnames = []string{"mail.siroe.com"}
	}
	target, _, err := ResolveTarget(opts)
	if err != nil {
		t.Fatal(err)
	}
	return target
}

func configByName(c *facts.Configs, name string) (facts.ConfigFile, bool) {
	for _, f := range c.Files {
		if f.Name == name {
			return f, true
		}
	}
	return facts.ConfigFile{}, false
}

func TestCollectConfigs(t *testing.T) {
	b := newRoot(t).standard()
	s := &facts.Snapshot{}
	partial, err := collectConfigs(context.Background(), resolve(t, Options{ServerRoot: b.root}), s)
	if err != nil || len(partial) != 0 {
		t.Fatalf("collectConfigs: partial %q, err %v", partial, err)
	}
	c := s.Configs
	assertNoSecrets(t, c)

	wantNames := []string{
		"msg-budgie/config/msg.conf", "msg-budgie/config/local.conf", "msg-budgie/imta/config/imta.cnf",
		"msg-budgie/imta/config/dispatcher.cnf", "msg-budgie/imta/config/job_controller.cnf",
		"msg-budgie/backup.20020916120000/config/msg.conf", "msg-budgie/backup.20020916120000/config/local.conf",
		"admin-serv/config/adm.conf", "https-admserv/config/magnus.conf",
		"https-mail.siroe.com/config/magnus.conf", "https-mail.siroe.com/config/servlets.properties",
		"https-mail.siroe.com/config/servlets.properties.nda",
	}
	var gotNames []string
	for _, f := range c.Files {
		gotNames = append(gotNames, f.Name)
	}
	if !reflect.DeepEqual(gotNames, wantNames) {
		t.Errorf("files = %q; want %q", gotNames, wantNames)
	}

	values := []struct {
		file, key, want string
	}{
		{"msg-budgie/config/msg.conf", "service.imap.port", "143"},
		{"msg-budgie/config/msg.conf", "service.pop.port", "110"},
		{"msg-budgie/config/msg.conf", "local.webmail.sso.secret", facts.Redacted},
		{"msg-budgie/config/msg.conf", "local.store.adminpass", facts.Redacted}, // {SSHA} value
		{"msg-budgie/config/local.conf", "local.ugldapbindcred", facts.Redacted},
		{"msg-budgie/config/local.conf", "local.service.pab.ldappasswd", facts.Redacted},
		{"msg-budgie/config/local.conf", "local.ugldapbinddn", "cn=Directory Manager"},
		{"msg-budgie/config/local.conf", "local.motd", "Welcome  to   siroe mail"},
		{"msg-budgie/imta/config/dispatcher.cnf", "SERVICE=SMTP.PORT", "25"},
		{"msg-budgie/imta/config/dispatcher.cnf", "MAX_PROCS", "5"},
		{"msg-budgie/imta/config/job_controller.cnf", "POOL=DEFAULT.JOB_LIMIT", "10"},
		{"msg-budgie/imta/config/job_controller.cnf", "CHANNEL=tcp_*.MASTER_COMMAND", "IMTA_BIN:tcp_smtp_client"},
		{"msg-budgie/backup.20020916120000/config/msg.conf", "store.quotaenforcement", "on"},
		{"msg-budgie/backup.20020916120000/config/msg.conf", "local.ugldapbindcred", facts.Redacted},
		{"admin-serv/config/adm.conf", "ldapurl", "ldap://127.0.0.1:389/o=NetscapeRoot"},
		{"admin-serv/config/adm.conf", "siepid", facts.Redacted},
		{"https-mail.siroe.com/config/magnus.conf", "Port", "8080"},
		{"https-mail.siroe.com/config/servlets.properties", "servlet.nda.initArgs",
			"ldapurl=ldap://127.0.0.1:389/o=siroe.com,version=1.2,password=<redacted>,serverroot=/usr/iplanet/server5"},
	}
	for _, v := range values {
		f, ok := configByName(c, v.file)
		if !ok {
			t.Errorf("no file %s", v.file)
			continue
		}
		if got := f.Values[v.key]; got != v.want {
			t.Errorf("%s %s = %q; want %q", v.file, v.key, got, v.want)
		}
	}

	for _, name := range wantNames {
		f, _ := configByName(c, name)
		if name == "msg-budgie/backup.20020916120000/config/local.conf" {
			if f.Error != "not found" || f.SHA256 != "" {
				t.Errorf("%s: error %q, sha %q; want not found", name, f.Error, f.SHA256)
			}
			continue
		}
		data, err := os.ReadFile(filepath.Join(b.root, name))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if f.SHA256 != hex.EncodeToString(sum[:]) || f.Error != "" {
			t.Errorf("%s: sha %q, error %q; want the file's hash and no error", name, f.SHA256, f.Error)
		}
	}

	if want := []string{"l", "ims-ms", "tcp_local", "hold"}; !reflect.DeepEqual(c.IMTAChannels, want) {
		t.Errorf("IMTAChannels = %q; want %q", c.IMTAChannels, want)
	}
	wantPorts := map[string]int{"smtp": 25, "imap": 143, "pop": 110, "http": 8990, "ldap": 389, "admin": 5555,
		"https-admserv": 8888, "https-mail.siroe.com": 8080}
	if !reflect.DeepEqual(c.Ports, wantPorts) {
		t.Errorf("Ports = %v; want %v", c.Ports, wantPorts)
	}
}

func TestCollectConfigsDegraded(t *testing.T) {
	tests := []struct {
		name        string
		build       func(b *rootBuilder)
		wantErr     string
		wantPartial string
		fileErrors  map[string]string // file → error substring
	}{
		{
			name: "missing files and a malformed one",
			build: func(b *rootBuilder) {
				b.dir("admin-serv/config", "msg-budgie/config").
					fixture("setup/install.inf", "install/install.inf").
					file("msg-budgie/config/msg.conf", "service.imap.port = 1143\nlocal.x.password = \"Secret-SSO-aa11\nbroken\n", 0o600)
			},
			wantPartial: "msg-budgie/config/msg.conf: parse: line 2",
			fileErrors: map[string]string{
				"msg-budgie/config/msg.conf":                "line 2: unterminated quoted value",
				"msg-budgie/config/local.conf":              "not found",
				"msg-budgie/imta/config/imta.cnf":           "not found",
				"msg-budgie/imta/config/dispatcher.cnf":     "not found",
				"msg-budgie/imta/config/job_controller.cnf": "not found",
				"admin-serv/config/adm.conf":                "not found",
			},
		},
		{
			name:        "no instance and nothing readable",
			build:       func(b *rootBuilder) { b.dir("admin-serv") },
			wantErr:     "no configuration file could be read",
			wantPartial: "no messaging instance",
		},
		{
			name: "unreadable file is partial",
			build: func(b *rootBuilder) {
				b.standard().dir("msg-budgie/config/local.conf.d")
				p := filepath.Join(b.root, "msg-budgie/config/local.conf")
				if err := os.Remove(p); err != nil {
					b.t.Fatal(err)
				}
				if err := os.Mkdir(p, 0o755); err != nil { // a directory cannot be read as a file
					b.t.Fatal(err)
				}
			},
			wantPartial: "msg-budgie/config/local.conf: read local.conf",
			fileErrors:  map[string]string{"msg-budgie/config/local.conf": "read local.conf"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newRoot(t)
			tt.build(b)
			s := &facts.Snapshot{}
			partial, err := collectConfigs(context.Background(), resolve(t, Options{ServerRoot: b.root}), s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || s.Configs != nil {
					t.Fatalf("err = %v, configs %v; want %q and no facts", err, s.Configs, tt.wantErr)
				}
			} else if err != nil {
				t.Fatalf("collectConfigs: %v", err)
			}
			if got := strings.Join(partial, "; "); !strings.Contains(got, tt.wantPartial) || (tt.wantPartial == "") != (got == "") {
				t.Errorf("partial = %q; want %q", got, tt.wantPartial)
			}
			for name, want := range tt.fileErrors {
				f, ok := configByName(s.Configs, name)
				if !ok || !strings.Contains(f.Error, want) {
					t.Errorf("%s: error %q; want %q", name, f.Error, want)
				}
			}
			if s.Configs != nil {
				assertNoSecrets(t, s.Configs)
			}
		})
	}
}
