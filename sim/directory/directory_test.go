package directory_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/simtest"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// newDirectoryRoot prepares a root the way Create's earlier steps would
// (saved state, ports, the simulator binary in bin/sim) and runs only the
// directory create step on it. Teardown runs when the test ends.
func newDirectoryRoot(t *testing.T, edit func(*sim.Scenario)) *sim.State {
	t.Helper()
	sc := sim.Scenario{Root: filepath.Join(t.TempDir(), "server5"), Host: "mail.siroe.com"}
	if edit != nil {
		edit(&sc)
	}
	sc.Defaults()
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	sc.Ports.LDAP = freePort(t)
	if len(sc.DSInstances) > 1 {
		sc.Ports.LDAPConfig = freePort(t)
	}
	st := &sim.State{Scenario: sc, MsgVersion: sc.MsgVersion, DSVersion: sc.DSVersion}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	bin := simtest.Binary(t)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(st.Paths().SimBinary()), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(st.Paths().SimBinary(), b, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cur, err := sim.LoadState(sc.Root)
		if err != nil {
			cur = st
		}
		if err := directory.Teardown(ctx, cur, simtest.Log(t)); err != nil {
			t.Errorf("teardown: %v", err)
		}
		if pids := serversOf(sc.Root); len(pids) > 0 {
			t.Errorf("directory processes of %s left after teardown: %v", sc.Root, pids)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := directory.Create(ctx, st, bin, simtest.Log(t)); err != nil {
		t.Fatalf("create directory: %v", err)
	}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	return st
}

// serversOf lists live processes that belong to root's directory: exe
// under root, or a real slapd whose command line names a path under root.
func serversOf(root string) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		if i := strings.LastIndexByte(string(stat), ')'); i > 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
			continue
		}
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if strings.HasPrefix(exe, root+"/") ||
			(filepath.Base(exe) == "slapd" && strings.Contains(string(cmdline), root+"/")) {
			out = append(out, pid)
		}
	}
	return out
}

func run(t *testing.T, root, script string, args ...string) string {
	t.Helper()
	out, err := simtest.RunScript(root, script, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func count(t *testing.T, ctx context.Context, url, password, base, filter string) (int, error) {
	t.Helper()
	conn, err := directory.Connect(ctx, url, directory.DirectoryManagerDN, password)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, filter, []string{"1.1"}, nil))
	if err != nil {
		return 0, err
	}
	return len(res.Entries), nil
}

// instanceFor returns the id of the instance serving suffix.
func instanceFor(st *sim.State, suffix string) string {
	ids := st.Scenario.DSInstances
	if len(ids) == 2 && suffix == directory.ConfigSuffix {
		return ids[1]
	}
	return ids[0]
}

// exercise runs the life of a directory: start, data, version, process,
// db2ldif, ims_dssetup, stop.
func exercise(t *testing.T, st *sim.State) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	sc := &st.Scenario
	root := sc.Root
	dm := sc.Secrets.DirectoryManager

	for _, id := range sc.DSInstances {
		out := run(t, root, "slapd-"+id+"/start-slapd")
		if !strings.Contains(out, "started") {
			t.Errorf("start-slapd %s said %q", id, out)
		}
		if out := run(t, root, "slapd-"+id+"/start-slapd"); !strings.Contains(out, "already running") {
			t.Errorf("second start-slapd %s said %q", id, out)
		}
		if err := directory.Bind(ctx, directory.URL(st, id), directory.DirectoryManagerDN, dm); err != nil {
			t.Fatalf("bind as directory manager: %v", err)
		}
		if err := directory.Bind(ctx, directory.URL(st, id), directory.DirectoryManagerDN, "wrong"); err == nil {
			t.Errorf("bind with a wrong password succeeded")
		}
		pid, ok := directory.Running(st, id)
		if !ok {
			t.Fatalf("slapd-%s not running after start", id)
		}
		exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
		if err != nil || exe != st.Paths().NsSlapd() {
			t.Errorf("/proc/%d/exe = %q, %v; want %s", pid, exe, err, st.Paths().NsSlapd())
		}
	}

	userURL := directory.URL(st, instanceFor(st, directory.UserSuffix))
	n, err := count(t, ctx, userURL, dm, directory.UserSuffix, "(objectClass=inetLocalMailRecipient)")
	if err != nil || n != sc.Users {
		t.Errorf("mail recipients = %d, %v; want %d", n, err, sc.Users)
	}
	n, err = count(t, ctx, userURL, dm, directory.PABSuffix, "(objectClass=inetOrgPerson)")
	switch {
	case sc.PABMissing && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject):
		t.Errorf("o=pab with PABMissing: %d entries, %v; want no such object", n, err)
	case !sc.PABMissing && (err != nil || n != sc.PAB):
		t.Errorf("pab entries = %d, %v; want %d", n, err, sc.PAB)
	}
	if err := directory.Bind(ctx, userURL, "uid="+sc.Secrets.ServiceAdminID+","+directory.PeopleDN, sc.Secrets.ServiceAdmin); err != nil {
		t.Errorf("service administrator bind: %v", err)
	}
	if err := directory.Bind(ctx, userURL, "uid=user0001,"+directory.PeopleDN, directory.UserPassword("user0001")); err != nil {
		t.Errorf("user bind: %v", err)
	}
	cfgURL := directory.URL(st, instanceFor(st, directory.ConfigSuffix))
	if err := directory.Bind(ctx, cfgURL, directory.ConfigAdminDN, sc.Secrets.ConfigAdmin); err != nil {
		t.Errorf("configuration administrator bind: %v", err)
	}

	out := run(t, root, "bin/slapd/server/ns-slapd", "-v")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || lines[1] != sim.DSVendorLines[st.DSVersion] {
		t.Errorf("ns-slapd -v = %q; want a vendor line then %q", out, sim.DSVendorLines[st.DSVersion])
	}

	for _, id := range sc.DSInstances {
		out := strings.TrimSpace(run(t, root, "slapd-"+id+"/db2ldif"))
		if !regexp.MustCompile(`/slapd-` + regexp.QuoteMeta(id) + `/ldif/\d{4}_\d\d_\d\d_\d{6}\.ldif$`).MatchString(out) {
			t.Fatalf("db2ldif %s printed %q", id, out)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		ldif := string(b)
		if id == instanceFor(st, directory.UserSuffix) {
			for i := 1; i <= sc.Users; i++ {
				if !strings.Contains(ldif, "dn: uid="+directory.UserUID(i)+","+directory.PeopleDN+"\n") {
					t.Errorf("db2ldif %s lacks user %d", id, i)
					break
				}
			}
		}
		if id == instanceFor(st, directory.ConfigSuffix) && !strings.Contains(ldif, "dn: "+directory.ConfigAdminDN+"\n") {
			t.Errorf("db2ldif %s lacks the configuration administrator", id)
		}
	}

	id := instanceFor(st, directory.UserSuffix)
	if err := directory.ApplyDSSetup(ctx, st, id, "wrong"); err == nil {
		t.Errorf("ApplyDSSetup with a wrong password succeeded")
	}
	if has, err := directory.SchemaHasObjectClass(ctx, userURL, directory.DirectoryManagerDN, dm, directory.MailObjectClass); err != nil || has {
		t.Errorf("schema has %s before ims_dssetup: %v, %v", directory.MailObjectClass, has, err)
	}
	for range 2 { // idempotent
		if err := directory.ApplyDSSetup(ctx, st, id, dm); err != nil {
			t.Fatalf("ApplyDSSetup: %v", err)
		}
	}
	if has, err := directory.SchemaHasObjectClass(ctx, userURL, directory.DirectoryManagerDN, dm, directory.MailObjectClass); err != nil || !has {
		t.Errorf("schema has %s after ims_dssetup: %v, %v", directory.MailObjectClass, has, err)
	}
	if n, err := count(t, ctx, userURL, dm, directory.PABSuffix, "(objectClass=organization)"); err != nil || n != 1 {
		t.Errorf("o=pab after ims_dssetup: %d, %v", n, err)
	}
	if n, err := count(t, ctx, userURL, dm, directory.UserSuffix, "(mail=user0001@siroe.com)"); err != nil || n != 1 {
		t.Errorf("user0001 by mail after ims_dssetup: %d, %v", n, err)
	}

	for _, id := range sc.DSInstances {
		if out := run(t, root, "slapd-"+id+"/stop-slapd"); !strings.Contains(out, "stopped") {
			t.Errorf("stop-slapd %s said %q", id, out)
		}
		if out := run(t, root, "slapd-"+id+"/stop-slapd"); !strings.Contains(out, "not running") {
			t.Errorf("second stop-slapd %s said %q", id, out)
		}
	}
	if pids := serversOf(root); len(pids) > 0 {
		t.Errorf("directory processes left after stop-slapd: %v", pids)
	}
	if err := directory.Bind(ctx, userURL, directory.DirectoryManagerDN, dm); err == nil {
		t.Errorf("bind succeeded after stop-slapd")
	}
}

func TestOpenLDAP(t *testing.T) {
	tests := []struct {
		name string
		edit func(*sim.Scenario)
	}{
		{"one instance", nil},
		{"two instances", func(sc *sim.Scenario) { sc.DSInstances = []string{"budgie", "config"} }},
		{"ds 4.16, pab missing", func(sc *sim.Scenario) {
			sc.DSVersion, sc.PABMissing, sc.Users, sc.Secrets.ServiceAdminID = "4.16", true, 7, "msgadmin"
		}},
		{"many users", func(sc *sim.Scenario) { sc.Users, sc.PAB = 3000, 40 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			exercise(t, newDirectoryRoot(t, tt.edit))
		})
	}
}

func TestOpenLDAPLayout(t *testing.T) {
	st := newDirectoryRoot(t, func(sc *sim.Scenario) { sc.DSInstances = []string{"budgie", "config"} })
	p := st.Paths()
	for _, id := range []string{"budgie", "config"} {
		for _, f := range []string{"config/slapd.conf", "db", "logs", "ldif", "start-slapd", "stop-slapd", "db2ldif"} {
			if _, err := os.Stat(filepath.Join(p.Slapd(id), f)); err != nil {
				t.Errorf("slapd-%s: %v", id, err)
			}
		}
	}
	conf, err := os.ReadFile(filepath.Join(p.Slapd("budgie"), "config", "slapd.conf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`suffix "o=siroe.com"`, `suffix "o=pab"`, `rootdn "cn=Directory Manager"`, "rootpw {SSHA}", "database monitor"} {
		if !strings.Contains(string(conf), want) {
			t.Errorf("slapd.conf lacks %q", want)
		}
	}
	for _, bad := range []string{`suffix "o=NetscapeRoot"`, st.Scenario.Secrets.DirectoryManager, "inetMailUser"} {
		if strings.Contains(string(conf), bad) {
			t.Errorf("slapd.conf of the user instance has %q", bad)
		}
	}
	a, errA := os.Stat(p.NsSlapd())
	b, errB := os.Stat(p.SimBinary())
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		t.Errorf("ns-slapd is not a hard link of the simulator binary: %v %v", errA, errB)
	}
	script, err := os.ReadFile(filepath.Join(p.Slapd("config"), "stop-slapd"))
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("exec '%s' ctl --root '%s' stop-slapd 'config' \"$@\"", p.SimBinary(), p.Root)
	if !strings.Contains(string(script), want) {
		t.Errorf("stop-slapd = %q; want it to contain %q", script, want)
	}
}

func TestStartFailureShowsLog(t *testing.T) {
	st := newDirectoryRoot(t, func(sc *sim.Scenario) { sc.Users = 3 })
	conf := filepath.Join(st.Paths().Slapd("budgie"), "config", "slapd.conf")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, append(b, []byte("\nnosuchdirective on\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = simtest.RunScript(st.Scenario.Root, "slapd-budgie/start-slapd")
	if err == nil || !strings.Contains(err.Error(), "nosuchdirective") {
		t.Errorf("start-slapd with a broken slapd.conf: %v; want an error quoting the log", err)
	}
	if pids := serversOf(st.Scenario.Root); len(pids) > 0 {
		t.Errorf("processes left after a failed start: %v", pids)
	}
}

func TestStopKillsOrphanedServer(t *testing.T) {
	st := newDirectoryRoot(t, func(sc *sim.Scenario) { sc.Users = 3 })
	run(t, st.Scenario.Root, "slapd-budgie/start-slapd")
	pid, ok := directory.Running(st, "budgie")
	if !ok {
		t.Fatal("not running")
	}
	if err := exec.Command("kill", "-KILL", strconv.Itoa(pid)).Run(); err != nil {
		t.Fatal(err)
	}
	run(t, st.Scenario.Root, "slapd-budgie/stop-slapd")
	deadline := time.Now().Add(10 * time.Second)
	for len(serversOf(st.Scenario.Root)) > 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if pids := serversOf(st.Scenario.Root); len(pids) > 0 {
		t.Errorf("processes left: %v", pids)
	}
}

func TestExternalDirectory(t *testing.T) {
	st := newDirectoryRoot(t, func(sc *sim.Scenario) {
		sc.DSExternal, sc.DSExternalURL = true, "ldap://ds.siroe.com:389/o=siroe.com"
	})
	if m, _ := filepath.Glob(filepath.Join(st.Scenario.Root, "slapd-*")); len(m) > 0 {
		t.Errorf("external directory: found %v", m)
	}
	if _, err := os.Stat(st.Paths().NsSlapd()); err == nil {
		t.Errorf("external directory: ns-slapd exists")
	}
}

func TestDS389(t *testing.T) {
	simtest.Lock389(t)
	var dirs []string
	t.Cleanup(func() { // runs after the teardown registered below
		for _, d := range dirs {
			if _, err := os.Stat(d); err == nil {
				t.Errorf("%s left after teardown", d)
			}
		}
	})
	st := newDirectoryRoot(t, func(sc *sim.Scenario) { sc.DSBackend, sc.Users, sc.PABMissing = "389", 25, true })
	if len(st.DirectoryDirs) == 0 {
		t.Fatal("389 instance dirs not recorded in the state")
	}
	// The container-mode pid file and socket must go too: a stale pid file
	// stops the next 389 instance from starting.
	dirs = append(slices.Clone(st.DirectoryDirs), "/data/run/slapd-localhost.pid", "/data/run/slapd-localhost.socket")
	exercise(t, st)
}

// TestEndToEnd goes through sim.Create and the host's own scripts.
func TestEndToEnd(t *testing.T) {
	h := simtest.New(t, func(sc *sim.Scenario) { sc.Users = 12 })
	h.Run(t, "slapd-budgie/start-slapd")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pw, err := os.ReadFile(h.DMPasswordFile(t))
	if err != nil {
		t.Fatal(err)
	}
	n, err := count(t, ctx, directory.URL(h.State, "budgie"), string(pw), directory.UserSuffix, "(objectClass=inetLocalMailRecipient)")
	if err != nil || n != 12 {
		t.Errorf("users = %d, %v; want 12", n, err)
	}
	h.Run(t, "slapd-budgie/stop-slapd")

	// The whole host: procs starts the directory first through start-slapd.
	h.Start(t)
	if pid, ok := directory.Running(h.State, "budgie"); !ok {
		t.Errorf("slapd-budgie not running after the host started")
	} else if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != h.Paths.NsSlapd() {
		t.Errorf("ns-slapd exe = %q; want %s", exe, h.Paths.NsSlapd())
	}
	if err := directory.ApplyDSSetup(ctx, h.State, "budgie", string(pw)); err != nil {
		t.Errorf("ApplyDSSetup on a running host: %v", err)
	}
	h.Stop(t)
	if pids := serversOf(h.Root); len(pids) > 0 {
		t.Errorf("directory processes left after the host stopped: %v", pids)
	}
}
