package collectors

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// helperEnv makes the test binary, copied under a daemon's name, act as a
// long-running daemon (see TestHelperDaemon).
const helperEnv = "MSGUARD_TEST_HELPER_DAEMON"

// TestHelperDaemon is not a test: run by startDaemon, it optionally listens
// on a TCP port (written to the file named by MSGUARD_TEST_HELPER_LISTEN)
// and sleeps until killed.
func TestHelperDaemon(t *testing.T) {
	if os.Getenv(helperEnv) != "1" {
		return
	}
	if f := os.Getenv("MSGUARD_TEST_HELPER_LISTEN"); f != "" {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			os.Exit(3)
		}
		defer ln.Close()
		port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
		if err := os.WriteFile(f+".tmp", []byte(port), 0o600); err != nil || os.Rename(f+".tmp", f) != nil {
			os.Exit(3)
		}
	}
	time.Sleep(time.Hour)
	os.Exit(0)
}

// copyExe copies the executable src to dst (mode 0755).
func copyExe(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// startProc starts exe with args and kills it at cleanup.
func startProc(t *testing.T, env []string, exe string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(exe, args...)
	cmd.Env = append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", exe, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// startDaemon runs a copy of the test binary at exe with daemon-like
// arguments after "--".
func startDaemon(t *testing.T, exe string, listen bool, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyExe(t, self, exe)
	env := []string{helperEnv + "=1"}
	var portFile string
	if listen {
		portFile = filepath.Join(t.TempDir(), "port")
		env = append(env, "MSGUARD_TEST_HELPER_LISTEN="+portFile)
	}
	cmd := startProc(t, env, exe, append([]string{"-test.run=^TestHelperDaemon$", "--"}, args...)...)
	if listen {
		waitFor(t, "daemon port file", func() bool { _, err := os.Stat(portFile); return err == nil })
	}
	return cmd
}

// waitFor polls cond (a bounded number of times) until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for range 500 {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("gave up waiting for %s", what)
}

func TestCollectProcesses(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "server5")
	wsroot := filepath.Join(base, "ws")
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}

	// Same name, elsewhere: not ours.
	copyExe(t, sleep, filepath.Join(base, "other", "stored"))
	other := startProc(t, nil, filepath.Join(base, "other", "stored"), "600")
	// A root-like prefix that is not under ROOT: not ours.
	copyExe(t, sleep, root+"-old/bin/msg/lib/imapd")
	startProc(t, nil, root+"-old/bin/msg/lib/imapd", "600")

	copyExe(t, sleep, filepath.Join(root, "bin", "msg", "lib", "stored"))
	stored := startProc(t, nil, filepath.Join(root, "bin", "msg", "lib", "stored"), "600")

	// Replaced during an upgrade: /proc/<pid>/exe ends in " (deleted)".
	imapdPath := filepath.Join(root, "bin", "msg", "lib", "imapd")
	copyExe(t, sleep, imapdPath)
	imapd := startProc(t, nil, imapdPath, "600")

	// A zombie of the install is not running.
	popdPath := filepath.Join(root, "bin", "msg", "lib", "popd")
	copyExe(t, sleep, popdPath)
	zombie := exec.Command(popdPath, "0")
	if err := zombie.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = zombie.Wait() })

	slapd := startDaemon(t, filepath.Join(root, "bin", "slapd", "server", "ns-slapd"), true,
		"-D", filepath.Join(root, "slapd-budgie"), "-i", filepath.Join(root, "slapd-budgie", "logs", "pid"), "-w", "s3cret")
	admin := startDaemon(t, filepath.Join(root, "bin", "https", "bin", "ns-httpd"), false,
		"-d", filepath.Join(root, "admin-serv", "config"))
	web := startDaemon(t, filepath.Join(wsroot, "bin", "https", "bin", "ns-httpd"), false,
		"-d", filepath.Join(wsroot, "https-mail", "config"))

	waitFor(t, "zombie", func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(zombie.Process.Pid) + "/stat")
		if err != nil {
			return false
		}
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return len(f) > 0 && f[0] == "Z"
	})
	if err := os.Remove(imapdPath); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "deleted exe", func() bool {
		l, _ := os.Readlink("/proc/" + strconv.Itoa(imapd.Process.Pid) + "/exe")
		return strings.HasSuffix(l, " (deleted)")
	})

	s := &facts.Snapshot{}
	_, err = collectProcesses(context.Background(), &Target{Root: root, WSRoot: wsroot, Instance: "budgie", host: LiveHost{}}, s)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]facts.Process{}
	for _, p := range s.Processes.Daemons {
		got[int(p.PID)] = p
	}
	want := []struct {
		pid          int
		daemon, role string
		exe          string
	}{
		{stored.Process.Pid, "stored", "msg:budgie", filepath.Join(root, "bin", "msg", "lib", "stored")},
		{imapd.Process.Pid, "imapd", "msg:budgie", imapdPath},
		{slapd.Process.Pid, "ns-slapd", "slapd:budgie", filepath.Join(root, "bin", "slapd", "server", "ns-slapd")},
		{admin.Process.Pid, "ns-httpd", "admin-server", filepath.Join(root, "bin", "https", "bin", "ns-httpd")},
		{web.Process.Pid, "ns-httpd", "webserver:https-mail", filepath.Join(wsroot, "bin", "https", "bin", "ns-httpd")},
	}
	if len(got) != len(want) {
		t.Errorf("daemons = %+v, want %d of them", s.Processes.Daemons, len(want))
	}
	for _, w := range want {
		p, ok := got[w.pid]
		if !ok {
			t.Errorf("%s (pid %d) not found", w.daemon, w.pid)
			continue
		}
		if p.Daemon != w.daemon || p.Role != w.role || p.Exe != w.exe {
			t.Errorf("pid %d = daemon %q role %q exe %q, want %q %q %q", w.pid, p.Daemon, p.Role, p.Exe, w.daemon, w.role, w.exe)
		}
		if p.PPID != int32(os.Getpid()) || p.User != "root" || p.Started.IsZero() {
			t.Errorf("pid %d: ppid %d user %q started %v", w.pid, p.PPID, p.User, p.Started)
		}
		// Started during this test, in whole seconds (as ps -o lstart).
		if age := time.Since(p.Started); age < -2*time.Second || age > 2*time.Minute || p.Started.Nanosecond() != 0 {
			t.Errorf("pid %d: started %v, %v ago; want a whole second within this test", w.pid, p.Started, age)
		}
	}
	for _, pid := range []int{other.Process.Pid, zombie.Process.Pid} {
		if _, ok := got[pid]; ok {
			t.Errorf("pid %d must not be a daemon of the install", pid)
		}
	}
	sp := got[slapd.Process.Pid]
	if strings.Contains(sp.Cmdline, "s3cret") || !strings.Contains(sp.Cmdline, "-w ***") {
		t.Errorf("ns-slapd cmdline not redacted: %q", sp.Cmdline)
	}
	if len(sp.Listening) != 1 {
		t.Errorf("ns-slapd listening = %v, want its one port", sp.Listening)
	}
	if len(got[stored.Process.Pid].Listening) != 0 {
		t.Errorf("stored listening = %v, want none", got[stored.Process.Pid].Listening)
	}
}

func TestClassifyProcess(t *testing.T) {
	r := installRoots{root: "/usr/iplanet/server5", wsRoot: "/usr/iplanet/ws", instance: "budgie"}
	denied := errors.New("permission denied")
	tests := []struct {
		name       string
		p          procInfo
		wantOwner  procOwner
		wantDaemon string
		wantRole   string
	}{
		{"under root", procInfo{exe: "/usr/iplanet/server5/bin/msg/lib/dispatcher"}, procOurs, "dispatcher", "msg:budgie"},
		{"deleted", procInfo{exe: "/usr/iplanet/server5/bin/msg/lib/stored (deleted)"}, procOurs, "stored", "msg:budgie"},
		{"sibling prefix", procInfo{exe: "/usr/iplanet/server5x/bin/msg/lib/stored"}, procOther, "", ""},
		{"elsewhere", procInfo{exe: "/opt/stored", name: "stored"}, procOther, "", ""},
		{"zombie", procInfo{exe: "/usr/iplanet/server5/bin/msg/lib/stored", zombie: true}, procOther, "", ""},
		{"unreadable argv0 under root", procInfo{exeErr: denied, argv: []string{"/usr/iplanet/server5/bin/msg/lib/imapd"}}, procOurs, "imapd", "msg:budgie"},
		{"unreadable daemon name", procInfo{exeErr: denied, name: "stored", argv: []string{"stored"}}, procUnreadable, "stored", ""},
		{"unreadable other name", procInfo{exeErr: denied, name: "bash", argv: []string{"bash"}}, procOther, "", ""},
		{"unreadable relative argv0 daemon", procInfo{exeErr: denied, name: "ns-slapd", argv: []string{"./ns-slapd", "-D", "x"}}, procUnreadable, "ns-slapd", ""},
		{"slapd attached D", procInfo{exe: "/usr/iplanet/server5/bin/slapd/server/ns-slapd", argv: []string{"ns-slapd", "-D/usr/iplanet/server5/slapd-cfg/"}}, procOurs, "ns-slapd", "slapd:cfg"},
		{"slapd foreign instance", procInfo{exe: "/usr/iplanet/server5/bin/slapd/server/ns-slapd", argv: []string{"ns-slapd", "-D", "/etc/dirsrv/slapd-x"}}, procOurs, "ns-slapd", ""},
		{"admin server", procInfo{exe: "/usr/iplanet/server5/bin/https/bin/ns-httpd", argv: []string{"ns-httpd", "-d", "/usr/iplanet/server5/admin-serv/config"}}, procOurs, "ns-httpd", "admin-server"},
		{"webserver on root", procInfo{exe: "/usr/iplanet/server5/bin/https/bin/ns-httpd", argv: []string{"ns-httpd", "-d", "/usr/iplanet/server5/https-admserv/config"}}, procOurs, "ns-httpd", "webserver:https-admserv"},
		{"webserver on wsroot", procInfo{exe: "/usr/iplanet/ws/bin/https/bin/ns-httpd", argv: []string{"ns-httpd", "-d", "/usr/iplanet/ws/https-mail/config"}}, procOurs, "ns-httpd", "webserver:https-mail"},
		{"root itself is not a daemon", procInfo{exe: "/usr/iplanet/server5"}, procOther, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, owner := r.classify(tt.p)
			if owner != tt.wantOwner || p.Daemon != tt.wantDaemon || p.Role != tt.wantRole {
				t.Errorf("classify = owner %d daemon %q role %q, want %d %q %q", owner, p.Daemon, p.Role, tt.wantOwner, tt.wantDaemon, tt.wantRole)
			}
			if owner == procOurs && strings.HasSuffix(p.Exe, "(deleted)") {
				t.Errorf("exe %q keeps the deleted suffix", p.Exe)
			}
		})
	}
}

func TestReadProcStat(t *testing.T) {
	dir := t.TempDir()
	// A name with spaces and parentheses: the fields start after the last ')'.
	stat := "4242 (tcp (smtp) server) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10\n"
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := readProcStat(dir, make([]byte, 8)) // a small buffer grows
	if err != nil {
		t.Fatal(err)
	}
	if st.comm != "tcp (smtp) server" || st.state != 'S' || st.ppid != 17 || st.flags != 4194560 || st.startTime != 123456 {
		t.Errorf("readProcStat = %+v", st)
	}
	for _, bad := range []string{"", "4242 tcp S 1", "4242 (x) S 1 2 3\n", "4242 (x) S one 4242 4242 0 -1 1 0 0 0 0 0 0 0 0 20 0 1 0 5 1 1\n"} {
		os.WriteFile(filepath.Join(dir, "stat"), []byte(bad), 0o644)
		if _, err := readProcStat(dir, nil); err == nil {
			t.Errorf("readProcStat(%q) succeeded", bad)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "cmdline"), []byte("/opt/bin/tcp_smtp_server\x00-d\x00\x00x\x00"), 0o644); err != nil {
		t.Fatal(err)
	}
	argv, err := readCmdline(dir, make([]byte, 4))
	if err != nil || strings.Join(argv, "|") != "/opt/bin/tcp_smtp_server|-d||x" {
		t.Errorf("readCmdline = %q, %v", argv, err)
	}
	// comm is cut at 15 bytes: completed from argv[0] when it starts so.
	if got := procName("tcp_smtp_server", argv); got != "tcp_smtp_server" {
		t.Errorf("procName = %q", got)
	}
	if got := procName("job_controller1", []string{"/x/job_controller12"}); got != "job_controller12" {
		t.Errorf("procName of a cut name = %q", got)
	}
	if got := procName("job_controller1", []string{"/x/other"}); got != "job_controller1" {
		t.Errorf("procName with an unrelated argv[0] = %q", got)
	}
	if bt, err := bootTime(); err != nil || bt <= 0 || bt > time.Now().Unix() {
		t.Errorf("bootTime = %d, %v", bt, err)
	}
}
