package procs

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

// simPkg is the multi-call binary the tests run.
const simPkg = "github.com/msguard/msguard/cmd/msguard-sim"

var simBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "procs-test-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	simBin = filepath.Join(dir, "msguard-sim")
	if out, err := exec.Command("go", "build", "-o", simBin, simPkg).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build %s: %v\n%s", simPkg, err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePorts returns n distinct free loopback ports.
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out
}

// testLog sends a log to t.Log.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// filePorts are the ports written into the config files (the scenario's
// ports are different and unused, so a daemon answering on these proves
// it read the files).
type filePorts struct{ smtp, imap, pop, http, admin, web, webAdmin int }

// newHost writes a server root with the config files the daemons read,
// saves its state and installs the programs; Destroy runs at cleanup.
func newHost(t *testing.T, mod func(*sim.Scenario)) (*sim.State, filePorts) {
	t.Helper()
	base := t.TempDir()
	sc := sim.Scenario{Root: filepath.Join(base, "server5"), Host: "mail.siroe.com", WebServer: "6.0SP1"}
	if mod != nil {
		mod(&sc)
	}
	sc.Defaults()
	pp := freePorts(t, 14)
	sc.Ports = sim.Ports{SMTP: pp[0], IMAP: pp[1], POP: pp[2], HTTP: pp[3], Admin: pp[4], WebServer: pp[5], WebAdmin: pp[6]}
	fp := filePorts{pp[7], pp[8], pp[9], pp[10], pp[11], pp[12], pp[13]}
	st := &sim.State{Scenario: sc, MsgVersion: sc.MsgVersion, DSVersion: sc.DSVersion, WebServer: sc.WebServer}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	p := st.Paths()
	files := map[string]string{
		filepath.Join(p.Inst(), "imta", "config", "dispatcher.cnf"): fmt.Sprintf(
			"! dispatcher.cnf\r\nMIN_PROCS=0\r\n\r\n[SERVICE=SMTP_SUBMIT]\r\nPORT=587\r\n[SERVICE=SMTP]\r\nPORT=%d\r\nIMAGE=IMTA_BIN:tcp_smtp_server\r\n", fp.smtp),
		filepath.Join(p.Inst(), "config", "msg.conf"): fmt.Sprintf(
			"! msg.conf\nlocal.hostname = \"%s\"\nservice.imap.port = \"1\"\nservice.imap.port = \"%d\"\nservice.pop.port = %d\nservice.http.port = \"%d\"\n",
			sc.Host, fp.imap, fp.pop, fp.http),
		filepath.Join(p.Root, "admin-serv", "config", "adm.conf"): fmt.Sprintf("ldapHost: localhost\nport: %d\n", fp.admin),
	}
	if sc.WebServer != "" {
		files[filepath.Join(p.WSRoot, "https-"+sc.Host, "config", "magnus.conf")] = fmt.Sprintf("ServerName %s\nPort %d\n", sc.Host, fp.web)
		files[filepath.Join(p.WSRoot, "https-admserv", "config", "magnus.conf")] = fmt.Sprintf("Port %d\n", fp.webAdmin)
	}
	for path, body := range files {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	t.Cleanup(func() {
		if err := Destroy(ctx, sc.Root, testLog{t}); err != nil {
			t.Errorf("destroy: %v", err)
		}
	})
	if err := installPrograms(ctx, st, simBin, testLog{t}); err != nil {
		t.Fatal(err)
	}
	return st, fp
}

// run runs a script or program and returns its standard output.
func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %v: %w: %s", name, args, err, errb.String())
	}
	return out.String(), err
}

func mustRun(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := run(t, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// ours lists the live processes whose executable is under dir, by daemon.
func ours(t *testing.T, dir string) map[string][]proc {
	t.Helper()
	all, err := scanProcs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]proc{}
	for _, p := range all {
		if under(p.exe, canon(dir)) {
			out[p.daemon()] = append(out[p.daemon()], p)
		}
	}
	return out
}

// greeting reads the first line a server sends on port.
func greeting(t *testing.T, port int) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil {
		t.Fatalf("dial %d: %v", port, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatalf("read greeting on %d: %v", port, err)
	}
	return strings.TrimRight(line, "\r\n")
}

// converse sends lines after the greeting and returns everything read
// until the server closes the connection.
func converse(t *testing.T, port int, lines ...string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), 2*time.Second)
	if err != nil {
		t.Fatalf("dial %d: %v", port, err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	for _, l := range lines {
		fmt.Fprintf(c, "%s\r\n", l)
	}
	b, _ := io.ReadAll(c)
	return string(b)
}

func serverHeader(t *testing.T, port int) string {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second}
	resp, err := cl.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/")
	if err != nil {
		t.Fatalf("http %d: %v", port, err)
	}
	resp.Body.Close()
	return resp.Header.Get("Server")
}

// startForeign runs a `stored` from another simulated root, which no
// stop or destroy of the host under test may touch.
func startForeign(t *testing.T) *exec.Cmd {
	t.Helper()
	other := filepath.Join(t.TempDir(), "other")
	st := &sim.State{Scenario: sim.Scenario{Root: other, Instance: "x", Host: "other"}, MsgVersion: "5.1"}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	exe := filepath.Join(st.Paths().MsgLib(), "stored")
	if err := copyFile(simBin, exe, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	deadline := time.Now().Add(5 * time.Second)
	for readPidFile(pidFile(st.Paths(), "stored")) != cmd.Process.Pid {
		if time.Now().After(deadline) {
			t.Fatal("foreign stored did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd
}

func TestParseConf(t *testing.T) {
	tests := []struct {
		name string
		got  func() string
		want string
	}{
		{"msg.conf quoted, last wins", func() string {
			return parseMsgConf([]string{`service.imap.port = "1"`, `Service.IMAP.Port = "143"`})["service.imap.port"]
		}, "143"},
		{"msg.conf bare value with comment", func() string {
			return parseMsgConf([]string{"! c", "service.pop.port=110 ! pop"})["service.pop.port"]
		}, "110"},
		{"msg.conf comment line ignored", func() string {
			return parseMsgConf([]string{"! service.http.port = 1"})["service.http.port"]
		}, ""},
		{"dispatcher smtp section", func() string {
			return strconv.Itoa(parseDispatcherPort([]string{"[SERVICE=SMTP_SUBMIT]", "PORT=587", "[ SERVICE = SMTP ]", "PORT = 25,2525"}, "SMTP"))
		}, "25"},
		{"dispatcher no smtp section", func() string {
			return strconv.Itoa(parseDispatcherPort([]string{"[SERVICE=SMTP_SUBMIT]", "PORT=587"}, "SMTP"))
		}, "0"},
		{"adm.conf key: value", func() string { return parseKeyValue([]string{"ldapHost: x", "port: 5555"}, "port") }, "5555"},
		{"magnus.conf Port", func() string { return parseKeyValue([]string{"PortX 1", "Port 8080"}, "port") }, "8080"},
		{"key=value", func() string { return parseKeyValue([]string{"Port=81"}, "Port") }, "81"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPortsFromConfigOrScenario(t *testing.T) {
	st, fp := newHost(t, nil)
	sp := st.Scenario.Ports
	for _, tc := range []struct {
		name      string
		got       func() int
		file, def int
	}{
		{"smtp", func() int { return msgPort(st, "dispatcher") }, fp.smtp, sp.SMTP},
		{"imap", func() int { return msgPort(st, "imapd") }, fp.imap, sp.IMAP},
		{"pop", func() int { return msgPort(st, "popd") }, fp.pop, sp.POP},
		{"http", func() int { return msgPort(st, "mshttpd") }, fp.http, sp.HTTP},
		{"admin", func() int { return adminPort(st) }, fp.admin, sp.Admin},
		{"web", func() int { return webPort(st, st.Scenario.Host) }, fp.web, sp.WebServer},
		{"webadmin", func() int { return webPort(st, "admserv") }, fp.webAdmin, sp.WebAdmin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.got(); got != tc.file {
				t.Errorf("from files: got %d, want %d", got, tc.file)
			}
		})
	}
	p := st.Paths()
	for _, f := range []string{
		filepath.Join(p.Inst(), "imta", "config", "dispatcher.cnf"), filepath.Join(p.Inst(), "config", "msg.conf"),
		filepath.Join(p.Root, "admin-serv", "config", "adm.conf"),
		filepath.Join(p.WSRoot, "https-"+st.Scenario.Host, "config", "magnus.conf"),
		filepath.Join(p.WSRoot, "https-admserv", "config", "magnus.conf"),
	} {
		os.Remove(f)
	}
	got := []int{msgPort(st, "dispatcher"), msgPort(st, "imapd"), msgPort(st, "popd"), msgPort(st, "mshttpd"),
		adminPort(st), webPort(st, st.Scenario.Host), webPort(st, "admserv"), msgPort(st, "stored")}
	want := []int{sp.SMTP, sp.IMAP, sp.POP, sp.HTTP, sp.Admin, sp.WebServer, sp.WebAdmin, 0}
	if !slices.Equal(got, want) {
		t.Errorf("fallback ports: got %v, want %v", got, want)
	}
}

func TestInstallPrograms(t *testing.T) {
	for _, tc := range []struct {
		name     string
		mod      func(*sim.Scenario)
		webFiles bool
	}{
		{"no web server", func(s *sim.Scenario) { s.WebServer = "" }, false},
		{"web server in root", nil, true},
		{"separate web server root", func(s *sim.Scenario) { s.WebServerRoot = filepath.Join(filepath.Dir(s.Root), "ws") }, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := newHost(t, tc.mod)
			p := st.Paths()
			bin, err := os.Stat(p.SimBinary())
			if err != nil {
				t.Fatal(err)
			}
			links := []string{p.AdminNsHttpd(), p.NsHttpd()}
			for _, d := range MsgDaemons {
				links = append(links, filepath.Join(p.MsgLib(), d))
			}
			for _, l := range links {
				if !tc.webFiles && l == p.NsHttpd() && p.NsHttpd() != p.AdminNsHttpd() {
					continue
				}
				fi, err := os.Stat(l)
				if err != nil {
					t.Fatal(err)
				}
				if !os.SameFile(fi, bin) {
					t.Errorf("%s is not a hard link of %s", l, p.SimBinary())
				}
			}
			scripts := map[string]string{
				filepath.Join(p.Root, "start-admin"): "start-admin", filepath.Join(p.Root, "stop-admin"): "stop-admin",
				filepath.Join(p.Inst(), "start-msg"): "start-msg", filepath.Join(p.Inst(), "stop-msg"): "stop-msg",
				filepath.Join(p.Inst(), "imsimta"):                      "imsimta",
				filepath.Join(p.Inst(), "configutil"):                   "configutil",
				filepath.Join(p.WSRoot, "https-admserv", "start"):       "https-start 'admserv'",
				filepath.Join(p.WSRoot, "https-mail.siroe.com", "stop"): "https-stop 'mail.siroe.com'",
			}
			for path, verb := range scripts {
				b, err := os.ReadFile(path)
				if strings.Contains(path, "https-") && !tc.webFiles {
					if err == nil {
						t.Errorf("%s written without a web server", path)
					}
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				want := fmt.Sprintf("#!/bin/sh\nexec '%s' ctl --root '%s' %s \"$@\"\n", p.SimBinary(), p.Root, verb)
				if string(b) != want {
					t.Errorf("%s:\n%s\nwant\n%s", path, b, want)
				}
			}
		})
	}
}

func TestMessagingServer(t *testing.T) {
	st, fp := newHost(t, func(s *sim.Scenario) { s.MsgVersion = "5.2 HotFix 1.02" })
	p := st.Paths()
	foreign := startForeign(t)
	banner := sim.MsgBanner("5.2 HotFix 1.02")

	out := mustRun(t, filepath.Join(p.Inst(), "start-msg"))
	if !strings.Contains(out, "Starting dispatcher server") {
		t.Errorf("start-msg output: %s", out)
	}
	procs := ours(t, p.Root)
	for _, d := range MsgDaemons {
		if len(procs[d]) != 1 {
			t.Errorf("%s: %d processes under the root, want 1", d, len(procs[d]))
			continue
		}
		if want := canon(filepath.Join(p.MsgLib(), d)); procs[d][0].exe != want {
			t.Errorf("%s exe %s, want %s", d, procs[d][0].exe, want)
		}
	}
	if len(procs["tcp_smtp_server"]) == 1 && len(procs["dispatcher"]) == 1 &&
		ppidOf(procs["tcp_smtp_server"][0].pid) != procs["dispatcher"][0].pid {
		t.Error("tcp_smtp_server is not the dispatcher's child")
	}
	for _, tc := range []struct {
		name string
		port int
		want string
	}{
		{"smtp", fp.smtp, "220 mail.siroe.com -- Server ESMTP (" + banner + ")"},
		{"imap", fp.imap, "* OK mail.siroe.com IMAP4 service (" + banner + ")"},
		{"pop", fp.pop, "+OK mail.siroe.com POP3 service (" + banner + ")"},
	} {
		t.Run("greeting "+tc.name, func(t *testing.T) {
			if got := greeting(t, tc.port); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		port  int
		lines []string
		want  []string
	}{
		{"smtp", fp.smtp, []string{"EHLO x", "HELO x", "NOOP", "MAIL FROM:<a@b>", "RCPT TO:<c@example.org>", "BOGUS", "QUIT"},
			[]string{"250-8BITMIME", "250-DSN", "250 2.0.0 Hello x", "250 2.0.0 Roger", "550 5.7.1 Relaying not allowed: c@example.org", "5.5.2 Bad command", "221 "}},
		{"imap", fp.imap, []string{"a1 CAPABILITY", "a2 SELECT inbox", "a3 LOGOUT"},
			[]string{"* CAPABILITY IMAP4rev1", "a1 OK", "a2 NO Not authenticated", "* BYE", "a3 OK"}},
		{"pop", fp.pop, []string{"PASS y", "CAPA", "USER x", "STAT", "QUIT"},
			[]string{"-ERR USER first", "+OK Capability list follows\r\nUSER\r\nUIDL", "+OK Name is a valid mailbox", "-ERR Unknown command in the AUTHORIZATION state: STAT", "+OK Goodbye"}},
	} {
		t.Run("dialogue "+tc.name, func(t *testing.T) {
			got := converse(t, tc.port, tc.lines...)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("missing %q in:\n%s", w, got)
				}
			}
		})
	}
	if got := serverHeader(t, fp.http); got != banner {
		t.Errorf("mshttpd Server: %q, want %q", got, banner)
	}
	for _, d := range MsgDaemons {
		if pid := readPidFile(pidFile(p, d)); pid == 0 || exited(pid) {
			t.Errorf("pid file of %s: %d", d, pid)
		}
	}
	if _, err := run(t, filepath.Join(p.Inst(), "start-msg")); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second start-msg: %v, want already running", err)
	}

	// imsimta stop dispatcher stops only the dispatcher and tcp_smtp_server.
	mustRun(t, filepath.Join(p.Inst(), "imsimta"), "stop", "dispatcher")
	procs = ours(t, p.Root)
	for _, d := range MsgDaemons {
		gone := d == "dispatcher" || d == "tcp_smtp_server"
		if (len(procs[d]) == 0) != gone {
			t.Errorf("after imsimta stop dispatcher: %s running=%v", d, len(procs[d]) > 0)
		}
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(fp.smtp), time.Second); err == nil {
		c.Close()
		t.Error("smtp port still answers after imsimta stop dispatcher")
	}
	mustRun(t, filepath.Join(p.Inst(), "imsimta"), "start", "dispatcher")
	if got := greeting(t, fp.smtp); !strings.Contains(got, banner) {
		t.Errorf("smtp greeting after imsimta start dispatcher: %q", got)
	}

	out = mustRun(t, filepath.Join(p.Inst(), "stop-msg"))
	if !strings.Contains(out, "Stopping stored server") {
		t.Errorf("stop-msg output: %s", out)
	}
	if left := ours(t, p.Root); len(left) != 0 {
		t.Errorf("processes left after stop-msg: %v", left)
	}
	if exited(foreign.Process.Pid) {
		t.Error("stop-msg stopped the foreign stored")
	}
	if out := mustRun(t, filepath.Join(p.Inst(), "stop-msg")); !strings.Contains(out, "not running") {
		t.Errorf("stop-msg when stopped: %q", out)
	}
	mustRun(t, filepath.Join(p.Inst(), "start-msg"), "ha")
	if err := Destroy(context.Background(), p.Root, testLog{t}); err != nil {
		t.Fatal(err)
	}
	if left := ours(t, filepath.Dir(p.Root)); len(left) != 0 {
		t.Errorf("processes left after destroy: %v", left)
	}
	if _, err := os.Stat(p.Root); !os.IsNotExist(err) {
		t.Errorf("root still exists after destroy: %v", err)
	}
	if exited(foreign.Process.Pid) {
		t.Error("destroy killed the foreign stored")
	}
}

func TestImsimtaVersion(t *testing.T) {
	for _, v := range []string{"5.0", "5.1", "5.2", "5.2 HotFix 1.02"} {
		t.Run(v, func(t *testing.T) {
			st, _ := newHost(t, func(s *sim.Scenario) { s.MsgVersion = v; s.WebServer = "" })
			out := mustRun(t, filepath.Join(st.Paths().Inst(), "imsimta"), "version")
			first, _, _ := strings.Cut(out, "\n")
			if first != sim.MsgBanner(v) {
				t.Errorf("first line %q, want %q", first, sim.MsgBanner(v))
			}
			if !strings.Contains(out, "libimta.so "+sim.MsgBaseVersion(v)) {
				t.Errorf("no libimta line: %s", out)
			}
		})
	}
}

func TestQueueDirectory(t *testing.T) {
	st, _ := newHost(t, func(s *sim.Scenario) { s.WebServer = "" })
	q := st.Paths().Queue()
	files := map[string]int{ // path under the queue -> size
		"tcp_local/ZZ0001.00":       100,
		"tcp_local/000/ZY0002.00":   200,
		"tcp_local/001/ZZ0003.HELD": 300,
		"tcp_local/001/$ZZ0004.00":  999, // temporary: not counted
		"hold/ZZ0005.HELD":          50,
	}
	for i := range 3000 {
		files[fmt.Sprintf("ims-ms/%03d/ZZ%06d.00", i%7, i)] = 10
	}
	for f, size := range files {
		path := filepath.Join(q, f)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, bytes.Repeat([]byte("x"), size), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(q, "reprocess"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, filepath.Join(st.Paths().Inst(), "imsimta"), "qm", "directory")
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	for _, want := range []string{
		"Channel hold: 1 messages, 1 held, 50 bytes",
		"Channel ims-ms: 3000 messages, 0 held, 30000 bytes",
		"Channel reprocess: 0 messages, 0 held, 0 bytes",
		"Channel tcp_local: 3 messages, 1 held, 600 bytes",
		"Total: 3004 messages, 2 held, 30650 bytes in 4 channels",
	} {
		if !slices.Contains(lines, want) {
			t.Errorf("missing line %q", want)
		}
	}
	msgLines := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "  ") {
			msgLines++
			f := strings.Fields(l)
			if len(f) != 3 {
				t.Errorf("message line %q: want name, size, mtime", l)
			} else if _, err := time.Parse(time.RFC3339, f[2]); err != nil {
				t.Errorf("message line %q: %v", l, err)
			}
		}
	}
	if msgLines != 3004 {
		t.Errorf("%d message lines, want 3004", msgLines)
	}
	if !strings.Contains(out, "  001/ZZ0003.HELD ") || strings.Contains(out, "$ZZ0004") {
		t.Errorf("listing names:\n%s", out[:min(len(out), 2000)])
	}
	if _, err := run(t, filepath.Join(st.Paths().Inst(), "imsimta"), "qm", "delete"); err == nil {
		t.Error("imsimta qm delete succeeded")
	}
}

// TestJobControllerDelivers: the 5.2 job controller delivers every
// message that is neither held nor temporary once it has started (after it
// is ready: its log says started before it says delivered, and start-msg
// does not wait for the backlog); the 5.1 one keeps the queue as the
// scenario planted it.
func TestJobControllerDelivers(t *testing.T) {
	files := []string{"tcp_local/ZZ0001.00", "tcp_local/000/ZY0002.00", "tcp_local/001/ZZ0003.HELD",
		"tcp_local/001/$ZZ0004.00", "ims-ms/ZZ0005.00", "hold/ZZ0006.HELD"}
	for _, tc := range []struct {
		version           string
		queued, delivered []string
	}{
		{"5.1", files, nil},
		{"5.2 HotFix 1.02", []string{"hold/ZZ0006.HELD", "tcp_local/001/$ZZ0004.00", "tcp_local/001/ZZ0003.HELD"},
			[]string{"ims-ms/ZZ0005.00", "tcp_local/000/ZY0002.00", "tcp_local/ZZ0001.00"}},
	} {
		t.Run(tc.version, func(t *testing.T) {
			st, _ := newHost(t, func(s *sim.Scenario) { s.MsgVersion, s.WebServer = tc.version, "" })
			p := st.Paths()
			for _, f := range files {
				path := filepath.Join(p.Queue(), f)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(f), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			mustRun(t, filepath.Join(p.Inst(), "start-msg"))
			defer mustRun(t, filepath.Join(p.Inst(), "stop-msg"))
			if tc.delivered != nil {
				waitDelivered(t, filepath.Join(p.RunDir(), "job_controller.log"))
			}
			list := func(dir string) []string {
				var out []string
				_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
					if err == nil && d.Type().IsRegular() {
						rel, _ := filepath.Rel(dir, path)
						out = append(out, rel)
					}
					return nil
				})
				slices.Sort(out)
				return out
			}
			want := slices.Clone(tc.queued)
			slices.Sort(want)
			if got := list(p.Queue()); !slices.Equal(got, want) {
				t.Errorf("queued after start-msg: %v, want %v", got, want)
			}
			if got := list(tree.DeliveredDir(p)); !slices.Equal(got, tc.delivered) {
				t.Errorf("delivered: %v, want %v", got, tc.delivered)
			}
			for _, f := range tc.delivered {
				if b, err := os.ReadFile(filepath.Join(tree.DeliveredDir(p), f)); err != nil || string(b) != f {
					t.Errorf("delivered %s: %q, %v", f, b, err)
				}
			}
		})
	}
}

// waitDelivered waits until the job controller's log says it delivered the
// queue, and checks that it said so after it had started (ready first,
// delivery in the background).
func waitDelivered(t *testing.T, log string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute) // a failure bound, not a speed threshold
	for {
		b, _ := os.ReadFile(log)
		s := string(b)
		started, delivered := strings.Index(s, "job_controller: pid"), strings.Index(s, "job_controller: delivered ")
		if delivered >= 0 {
			if started < 0 || started > delivered {
				t.Fatalf("the job controller delivered before it had started:\n%s", s)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job controller has not delivered the queue after a minute:\n%s", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConfigutil reads and sets msg.conf and local.conf keys as the real
// configutil does.
func TestConfigutil(t *testing.T) {
	st, _ := newHost(t, func(s *sim.Scenario) { s.WebServer = "" })
	p := st.Paths()
	cu := filepath.Join(p.Inst(), "configutil")
	if err := os.WriteFile(tree.LocalConf(p), []byte("! local.conf\nlocal.ugldaphost = \"127.0.0.1\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := mustRun(t, cu, "-o", "local.hostname"); got != "mail.siroe.com\n" {
		t.Errorf("configutil -o local.hostname = %q", got)
	}
	mustRun(t, cu, "-o", "service.imap.idletimeout", "-v", "7200")
	mustRun(t, cu, "-o", "local.ugldaphost", "-v", "ldap.siroe.com")
	mustRun(t, cu, "-o", "local.hostname", "-v", "mail2.siroe.com")
	for key, want := range map[string]string{"service.imap.idletimeout": "7200", "local.ugldaphost": "ldap.siroe.com", "local.hostname": "mail2.siroe.com"} {
		if got := mustRun(t, cu, "-o", key); got != want+"\n" {
			t.Errorf("configutil -o %s = %q, want %q", key, got, want)
		}
	}
	msg, _ := os.ReadFile(tree.MsgConf(p))
	if !strings.Contains(string(msg), "service.imap.idletimeout = \"7200\"\n") || !strings.Contains(string(msg), "local.hostname = \"mail2.siroe.com\"") {
		t.Errorf("msg.conf:\n%s", msg)
	}
	if local, _ := os.ReadFile(tree.LocalConf(p)); strings.Count(string(local), "local.ugldaphost") != 1 {
		t.Errorf("local.conf:\n%s", local)
	}
	for _, bad := range [][]string{{}, {"-o"}, {"-x", "y"}, {"-o", "no.such.key"}} {
		if _, err := run(t, cu, bad...); err == nil {
			t.Errorf("configutil %v succeeded", bad)
		}
	}
}

func TestAdminAndWebServer(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*sim.Scenario)
	}{
		{"web server in root", nil},
		{"separate web server root", func(s *sim.Scenario) {
			s.WebServerRoot = filepath.Join(filepath.Dir(s.Root), "ws")
			s.WebServer = "4.1"
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, fp := newHost(t, tc.mod)
			p := st.Paths()
			web := sim.WebServerBanners[st.WebServer]

			for _, v := range []struct {
				exe  string
				args []string
				want string
			}{
				{p.NsHttpd(), []string{"-v"}, web},
				{p.AdminNsHttpd(), []string{"-d", adminConfigDir(p), "-v"}, sim.AdminServerBanner},
				{p.NsHttpd(), []string{"-d", filepath.Join(p.WSRoot, "https-admserv", "config"), "-v"}, web},
			} {
				if got := strings.TrimSpace(mustRun(t, v.exe, v.args...)); got != v.want {
					t.Errorf("%s %v: %q, want %q", v.exe, v.args, got, v.want)
				}
			}
			if p.NsHttpd() != p.AdminNsHttpd() {
				if got := strings.TrimSpace(mustRun(t, p.AdminNsHttpd(), "-v")); got != sim.AdminServerBanner {
					t.Errorf("admin ns-httpd -v: %q", got)
				}
			}

			mustRun(t, filepath.Join(p.Root, "start-admin"))
			mustRun(t, filepath.Join(p.WSRoot, "https-admserv", "start"))
			mustRun(t, filepath.Join(p.WSRoot, "https-"+st.Scenario.Host, "start"))
			if _, err := run(t, filepath.Join(p.Root, "start-admin")); err == nil {
				t.Error("second start-admin succeeded")
			}
			for _, h := range []struct {
				port int
				want string
			}{{fp.admin, sim.AdminServerBanner}, {fp.webAdmin, web}, {fp.web, web}} {
				if got := serverHeader(t, h.port); got != h.want {
					t.Errorf("port %d Server: %q, want %q", h.port, got, h.want)
				}
			}
			httpds, err := findByExe(p.AdminNsHttpd(), adminConfigDir(p))
			if err != nil || len(httpds) != 1 {
				t.Fatalf("admin server processes: %v %v", httpds, err)
			}
			if got := len(ours(t, p.WSRoot)["ns-httpd"]); got < 2 {
				t.Errorf("%d ns-httpd under the web server root, want >= 2", got)
			}
			for _, s := range []string{"https-" + st.Scenario.Host, "https-admserv"} {
				mustRun(t, filepath.Join(p.WSRoot, s, "stop"))
			}
			if got := len(ours(t, p.WSRoot)["ns-httpd"]); canon(p.WSRoot) != canon(p.Root) && got != 0 {
				t.Errorf("%d ns-httpd left under the web server root", got)
			}
			if httpds, _ := findByExe(p.AdminNsHttpd(), adminConfigDir(p)); len(httpds) != 1 {
				t.Errorf("stopping the web server stopped the admin server")
			}
			mustRun(t, filepath.Join(p.Root, "stop-admin"))
			if left := ours(t, filepath.Dir(p.Root)); len(left) != 0 {
				t.Errorf("processes left: %v", left)
			}
		})
	}
}

func TestStartStopDestroy(t *testing.T) {
	st, fp := newHost(t, func(s *sim.Scenario) { s.WebServerRoot = filepath.Join(filepath.Dir(s.Root), "ws") })
	p := st.Paths()
	foreign := startForeign(t)
	ctx := context.Background()
	if err := Start(ctx, p.Root, testLog{t}); err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"ns-httpd": 3, "stored": 1, "dispatcher": 1, "tcp_smtp_server": 1}
	got := ours(t, filepath.Dir(p.Root))
	for d, n := range want {
		if len(got[d]) != n {
			t.Errorf("after Start: %d %s, want %d", len(got[d]), d, n)
		}
	}
	if g := greeting(t, fp.imap); !strings.Contains(g, sim.MsgBanner("5.1")) {
		t.Errorf("imap greeting %q", g)
	}
	if err := Stop(ctx, p.Root, testLog{t}); err != nil {
		t.Fatal(err)
	}
	if left := ours(t, filepath.Dir(p.Root)); len(left) != 0 {
		t.Errorf("processes left after Stop: %v", left)
	}
	if err := Start(ctx, p.Root, testLog{t}); err != nil {
		t.Fatal(err)
	}
	// A process Stop does not know about is killed by Destroy.
	stray := exec.Command(filepath.Join(p.MsgLib(), "enpd"), "-r", p.Root)
	if err := stray.Start(); err != nil {
		t.Fatal(err)
	}
	defer stray.Wait()
	if err := Destroy(ctx, p.Root, testLog{t}); err != nil {
		t.Fatal(err)
	}
	if left := ours(t, filepath.Dir(p.Root)); len(left) != 0 {
		t.Errorf("processes left after Destroy: %v", left)
	}
	for _, d := range []string{p.Root, p.WSRoot} {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("%s not removed: %v", d, err)
		}
	}
	if exited(foreign.Process.Pid) {
		t.Error("destroy killed the foreign stored")
	}
}

func TestDestroyHalfCreated(t *testing.T) {
	root := filepath.Join(t.TempDir(), "half")
	sleeper := filepath.Join(root, "bin", "msg", "lib", "sleepy")
	if err := os.MkdirAll(sim.Paths{Root: root}.StateDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	if err := copyFile(sleep, sleeper, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sleeper, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := Destroy(context.Background(), root, testLog{t}); err != nil {
		t.Fatal(err)
	}
	if !exited(cmd.Process.Pid) {
		t.Error("process under the half-created root survived")
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("root not removed: %v", err)
	}

	for _, bad := range []string{"", "relative", "/", t.TempDir()} {
		if err := Destroy(context.Background(), bad, io.Discard); err == nil {
			t.Errorf("Destroy(%q) succeeded", bad)
		}
	}
}

func TestExitedZombie(t *testing.T) {
	cmd := exec.Command("sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	if exited(pid) {
		t.Fatal("a running process counts as exited")
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !exited(pid) { // a zombie: not reaped until Wait
		if time.Now().After(deadline) {
			t.Fatal("killed, unreaped process not seen as exited")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if !strings.Contains(string(b), ") Z ") {
		t.Errorf("expected a zombie, stat: %s", b)
	}
	_ = cmd.Wait()
}

func TestSeparateWSRoot(t *testing.T) {
	for _, tc := range []struct {
		ws, root string
		want     bool
	}{
		{"", "/a/server5", false},
		{"/", "/a/server5", false},
		{"relative", "/a/server5", false},
		{"/a/server5", "/a/server5", false},
		{"/a", "/a/server5", false},
		{"/a/server5/ws", "/a/server5", false},
		{"/a/ws", "/a/server5", true},
		{"/a/server5x", "/a/server5", true},
	} {
		if got := separateWSRoot(tc.ws, tc.root); got != tc.want {
			t.Errorf("separateWSRoot(%q, %q) = %v, want %v", tc.ws, tc.root, got, tc.want)
		}
	}
}

func TestDestroyKeepsEnclosingWSRoot(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "server5")
	st := &sim.State{Scenario: sim.Scenario{Root: root, WebServerRoot: parent, Instance: "x", Host: "h"}, MsgVersion: "5.1"}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	keep := filepath.Join(parent, "keep")
	if err := os.WriteFile(keep, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Destroy(context.Background(), root, testLog{t}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(root); !os.IsNotExist(err) {
		t.Errorf("root not removed: %v", err)
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("enclosing web server root removed: %v", err)
	}
}
