package collectors

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
)

// greeter is a TCP service that sends one greeting line per connection.
func greeter(t *testing.T, greeting string) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.Write([]byte(greeting + "\r\n"))
				bufio.NewReader(c).ReadString('\n') // the goodbye
			}()
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// deadPort is a loopback port nothing listens on.
func deadPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// webServer answers every request with the Server header given.
func webServer(t *testing.T, banner string) int {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Server", banner)
	}))
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().(*net.TCPAddr).Port
}

const (
	banner51   = "iPlanet Messaging Server 5.1 (built May  7 2001)"
	banner52hf = "iPlanet Messaging Server 5.2 HotFix 1.02 (built Sep 16 2002)"
	ws60sp1    = "iPlanet-WebServer-Enterprise/6.0SP1"
)

// src is the expected outcome of one version source.
type src struct {
	name, version, errPart string
	foreign, stale         bool
}

func checkProduct(t *testing.T, what string, got facts.ProductVersion, installed bool, version string, agreed bool, want []src) {
	t.Helper()
	if got.Installed != installed || got.Version != version || got.Agreed != agreed {
		t.Errorf("%s: installed, version, agreed = %v, %q, %v; want %v, %q, %v", what,
			got.Installed, got.Version, got.Agreed, installed, version, agreed)
	}
	if len(got.Sources) != len(want) {
		t.Fatalf("%s: %d sources %+v; want %d", what, len(got.Sources), got.Sources, len(want))
	}
	for i, w := range want {
		g := got.Sources[i]
		if g.Source != w.name || g.Version != w.version || g.Foreign != w.foreign || g.Stale != w.stale {
			t.Errorf("%s source %d = %+v; want %+v", what, i, g, w)
		}
		if (w.errPart == "") != (g.Error == "") || !strings.Contains(g.Error, w.errPart) {
			t.Errorf("%s source %s error = %q; want %q", what, g.Source, g.Error, w.errPart)
		}
	}
}

func TestCollectVersions(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, b *rootBuilder)
		check func(t *testing.T, v *facts.Versions)
	}{
		{
			name: "5.1 running, everything agrees",
			build: func(t *testing.T, b *rootBuilder) {
				b.repl = []string{"@SMTP_PORT@", strconv.Itoa(greeter(t, "220 mail.siroe.com -- Server ESMTP ("+banner51+")")),
					"@IMAP_PORT@", strconv.Itoa(greeter(t, "* OK mail.siroe.com IMAP4 service ("+banner51+")"))}
				b.standard().
					script("msg-budgie/imsimta", banner51+"\nlibimta.so 5.1", 0).
					script("bin/slapd/server/ns-slapd", "Netscape Communications Corp.\nNetscape-Directory/4.13 B01.044.2317", 0).
					fixture("setup/slapd/slapd.inf", "versions/slapd.inf").
					script("bin/https/bin/ns-httpd", ws60sp1+" B08/20/2001 04:36", 0).
					fixture("setup/nda/nda.inf", "versions/nda.inf").
					fixture("https-admserv/config/magnus.conf", "configs/magnus.conf", "@NAME@", "admserv", "@PORT@", strconv.Itoa(webServer(t, ws60sp1))).
					fixture("https-mail.siroe.com/config/magnus.conf", "configs/magnus.conf", "@NAME@", "mail", "@PORT@", strconv.Itoa(deadPort(t)))
			},
			check: func(t *testing.T, v *facts.Versions) {
				checkProduct(t, "messaging", v.Messaging, true, "5.1", true, []src{
					{name: "imsimta version", version: "5.1"}, {name: "smtp greeting", version: "5.1"}, {name: "imap greeting", version: "5.1"},
				})
				if got := v.Messaging.Sources[0]; got.Raw != banner51 || got.Detail["build"] != "May 7 2001" {
					t.Errorf("imsimta source = %+v", got)
				}
				if got := v.Messaging.Sources[1].Raw; !strings.HasPrefix(got, "220 mail.siroe.com") {
					t.Errorf("smtp raw = %q", got)
				}
				checkProduct(t, "directory", v.Directory, true, "4.13", true, []src{
					{name: "ns-slapd -v", version: "4.13"}, {name: "slapd.inf", version: "4.13"},
				})
				if d := v.Directory.Sources[0].Detail; d["vendor"] != "Netscape" || d["build"] != "B01.044.2317" || d["vendor_line"] != "Netscape Communications Corp." {
					t.Errorf("ns-slapd detail = %v", d)
				}
				checkProduct(t, "webserver", v.WebServer, true, "6.0SP1", true, []src{
					{name: "ns-httpd -v", version: "6.0SP1"}, {name: "http Server header", version: "6.0SP1"},
					{name: "http Server header", errPart: "not running"},
				})
				if got := v.WebServer.Sources[2].Detail["instance"]; got != "https-mail.siroe.com" {
					t.Errorf("web source instance = %q", got)
				}
				checkProduct(t, "delegated admin", v.DelegatedAdmin, true, "1.2", true, []src{
					{name: "nda.inf", version: "1.2"}, {name: "servlets.properties", version: "1.2"},
					{name: "*.nda files", version: "1.1", stale: true},
				})
			},
		},
		{
			name: "stopped, 5.2 hotfix installed, sources disagree",
			build: func(t *testing.T, b *rootBuilder) {
				b.repl = []string{"@SMTP_PORT@", strconv.Itoa(deadPort(t)), "@IMAP_PORT@", strconv.Itoa(greeter(t, "* OK "+banner51))}
				b.standard().
					script("msg-budgie/imsimta", banner52hf, 0).
					script("bin/slapd/server/ns-slapd", "Netscape-Directory/4.16 B02.060.1530", 0).
					fixture("setup/slapd/slapd.inf", "versions/slapd.inf").
					script("bin/https/bin/ns-httpd", "Netscape-Administrator/5.2", 0)
			},
			check: func(t *testing.T, v *facts.Versions) {
				checkProduct(t, "messaging", v.Messaging, true, "", false, []src{
					{name: "imsimta version", version: "5.2"}, {name: "smtp greeting", errPart: "not running"},
					{name: "imap greeting", version: "5.1"},
				})
				if d := v.Messaging.Sources[0].Detail; d["hotfix"] != "1.02" || d["build"] != "Sep 16 2002" {
					t.Errorf("imsimta detail = %v", d)
				}
				checkProduct(t, "directory", v.Directory, true, "", false, []src{
					{name: "ns-slapd -v", version: "4.16"}, {name: "slapd.inf", version: "4.13"},
				})
				checkProduct(t, "webserver", v.WebServer, true, "", true, []src{
					{name: "ns-httpd -v", errPart: "no Web Server version"},
					{name: "http Server header", errPart: "not running"},
					{name: "http Server header", errPart: "not running"},
				})
				checkProduct(t, "delegated admin", v.DelegatedAdmin, true, "1.2", true, []src{
					{name: "nda.inf", errPart: "nda.inf not found"}, {name: "servlets.properties", version: "1.2"},
					{name: "*.nda files", version: "1.1", stale: true},
				})
			},
		},
		{
			name: "no binaries, foreign directory, no web server",
			build: func(t *testing.T, b *rootBuilder) {
				b.repl = []string{"@SMTP_PORT@", strconv.Itoa(deadPort(t)), "@IMAP_PORT@", strconv.Itoa(deadPort(t))}
				b.dir("admin-serv", "msg-budgie/config").
					fixture("setup/install.inf", "install/install.inf").
					fixture("msg-budgie/config/msg.conf", "configs/msg.conf").
					script("bin/slapd/server/ns-slapd", "389-Directory/2.3.1 B2023.100.0000", 0).
					script("msg-budgie/imsimta", "", 3)
			},
			check: func(t *testing.T, v *facts.Versions) {
				checkProduct(t, "messaging", v.Messaging, true, "", true, []src{
					{name: "imsimta version", errPart: "exit status 3"},
					{name: "smtp greeting", errPart: "dispatcher.cnf"},
					{name: "imap greeting", errPart: "not running"},
				})
				checkProduct(t, "directory", v.Directory, true, "", true, []src{
					{name: "ns-slapd -v", version: "2.3.1", foreign: true}, {name: "slapd.inf", errPart: "slapd.inf not found"},
				})
				checkProduct(t, "webserver", v.WebServer, false, "", true, []src{{name: "ns-httpd -v", errPart: "no Web Server root"}})
				checkProduct(t, "delegated admin", v.DelegatedAdmin, false, "", true, []src{{name: "nda.inf", errPart: "not found"}})
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newRoot(t)
			tt.build(t, b)
			s := &facts.Snapshot{}
			partial, err := collectVersions(context.Background(), resolve(t, Options{ServerRoot: b.root}), s)
			if err != nil || len(partial) != 0 {
				t.Fatalf("collectVersions: partial %q, err %v", partial, err)
			}
			tt.check(t, s.Versions)
			assertNoSecrets(t, s.Versions)
		})
	}
}

func TestCollectVersionsNoInstance(t *testing.T) {
	b := newRoot(t).dir("admin-serv")
	s := &facts.Snapshot{}
	if _, err := collectVersions(context.Background(), resolve(t, Options{ServerRoot: b.root}), s); err != nil {
		t.Fatal(err)
	}
	checkProduct(t, "messaging", s.Versions.Messaging, false, "", true, []src{
		{name: "imsimta version", errPart: "no messaging instance"},
		{name: "smtp greeting", errPart: "no messaging instance"},
		{name: "imap greeting", errPart: "no messaging instance"},
	})
	checkProduct(t, "directory", s.Versions.Directory, false, "", true, []src{
		{name: "ns-slapd -v", errPart: "not found"}, {name: "slapd.inf", errPart: "not found"},
	})
}

func TestProbeHost(t *testing.T) {
	tests := map[string]string{"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "127.0.0.1",
		"10.1.2.3": "10.1.2.3", " 127.0.0.2 ": "127.0.0.2", "mail.siroe.com": "127.0.0.1"}
	for in, want := range tests {
		if got := probeHost(in); got != want {
			t.Errorf("probeHost(%q) = %q; want %q", in, got, want)
		}
	}
}

func TestRunProbeOutputLimit(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "chatty")
	if err := os.WriteFile(p, []byte("#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' x\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := runProbe(context.Background(), LiveHost{}, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 64<<10 {
		t.Errorf("runProbe kept %d bytes; want %d", len(out), 64<<10)
	}
}
