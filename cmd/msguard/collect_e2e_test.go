package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/simtest"
	"github.com/msguard/msguard/sim/tree"
)

// referenceScenario is the issues' reference host, smaller: 5.1, DS 4.13,
// held messages, Web Server 6.0 SP1, DA 1.1, secrets planted everywhere.
func referenceScenario(s *sim.Scenario) {
	s.MsgVersion, s.DSVersion, s.WebServer, s.DA = "5.1", "4.13", "6.0SP1", "1.1"
	s.Users, s.PAB = 40, 7
	s.Queue = sim.QueueSpec{Messages: 120, Held: 6, Temp: 3, Subdirs: 3}
	s.Store = sim.StoreSpec{Mailboxes: 40, MessagesPerBox: 2}
	s.MailLog = sim.MailLogSpec{E: 10, D: 9, Q: 2, J: 1, Garbage: 1}
	s.Customizations = map[string]string{"service.imap.idletimeout": "7200"}
	s.Secrets = sim.Secrets{DirectoryManager: "e2e-DM-Secret-1", ConfigAdmin: "e2e-Admin-Secret-2",
		ServiceAdminID: "ServiceAdmin", ServiceAdmin: "e2e-Svc-Secret-3", UGBindCred: "e2e-UG-Secret-4", PABPassword: "e2e-PAB-Secret-5"}
}

func plantedSecrets(s sim.Secrets) []string {
	return []string{s.DirectoryManager, s.ConfigAdmin, s.ServiceAdmin, s.UGBindCred, s.PABPassword}
}

// TestCollectMatchesScenario collects a running simulated host with the
// real msguard binary and checks every fact against what the scenario set,
// and that no planted secret appears in the snapshot.
func TestCollectMatchesScenario(t *testing.T) {
	h := simtest.New(t, referenceScenario)
	h.Start(t)
	bin := simtest.MsguardBinary(t)
	out := filepath.Join(t.TempDir(), "snap.json")
	cmd := exec.Command(bin, "collect", "--server-root", h.Root, "--bind-password-file", h.DMPasswordFile(t),
		"--state-dir", t.TempDir(), "--log-format", "json", "--log-level", "debug", "-o", out)
	logs, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("collect: %v\n%s", err, logs)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range plantedSecrets(h.State.Scenario.Secrets) {
		if strings.Contains(string(raw), secret) || strings.Contains(string(logs), secret) {
			t.Errorf("planted secret %q appears in the snapshot or the logs", secret)
		}
	}
	var s facts.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.Schema != facts.SnapshotSchema {
		t.Errorf("schema %q", s.Schema)
	}
	for name, run := range s.Collectors {
		if run.Error != "" {
			t.Errorf("collector %s failed: %s", name, run.Error)
		}
	}
	sc := h.State.Scenario
	check := func(what string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v; want %v", what, got, want)
		}
	}
	check("install.valid", s.Install.Valid, true)
	check("install.same_machine", s.Install.SameMachine, true)
	check("install.full_machine_name", s.Install.FullMachineName, sc.Host)
	check("install.install_inf RootDNPwd", s.Install.InstallInf["slapd"]["RootDNPwd"], facts.Redacted)
	check("versions.messaging", s.Versions.Messaging.Version, "5.1")
	check("versions.messaging.agreed", s.Versions.Messaging.Agreed, true)
	check("versions.directory", s.Versions.Directory.Version, "4.13")
	check("versions.webserver", s.Versions.WebServer.Version, "6.0SP1")
	check("versions.delegated_admin", s.Versions.DelegatedAdmin.Version, "1.1")
	sources := map[string]bool{}
	for _, src := range s.Versions.Messaging.Sources {
		if src.Version == "5.1" {
			sources[src.Source] = true
		}
	}
	for _, want := range []string{"imsimta version", "smtp greeting", "imap greeting"} {
		if !sources[want] {
			t.Errorf("messaging version source %q missing or wrong: %+v", want, s.Versions.Messaging.Sources)
		}
	}

	want := tree.ExpectedQueue(sc.Queue)
	var msgs, held, temp int64
	for _, c := range want {
		msgs, held, temp = msgs+int64(c.Messages), held+int64(c.Held), temp+int64(c.Temp)
	}
	check("queue.total.messages", s.Queue.Total.Messages, msgs)
	check("queue.total.held", s.Queue.Total.Held, held)
	check("queue.total.temp", s.Queue.Total.Temp, temp)
	for _, c := range s.Queue.Channels {
		w := want[c.Name]
		check("queue "+c.Name+" messages", c.Messages, int64(w.Messages))
		check("queue "+c.Name+" bytes", c.Bytes, w.Bytes)
	}
	mailboxes, files := tree.ExpectedStore(sc.Store)
	check("store.mailboxes", s.Store.Mailboxes, int64(mailboxes))
	check("store.files", s.Store.Files, int64(files))
	check("ldap.bound", s.LDAP.Bound, true)
	check("ldap.mail_recipients", s.LDAP.MailRecipients, int64(sc.Users))
	check("ldap.pab_exists", s.LDAP.PABExists, true)
	check("ldap.schema_inetmailuser", s.LDAP.SchemaInetMailUser, false)
	ml := tree.ExpectedMailLog(sc.MailLog)
	check("maillog.error_count", s.MailLog.ErrorCount, int64(ml.Errors))
	check("maillog.unparsed", s.MailLog.Unparsed, int64(ml.Garbage))
	check("run_state.status", s.RunState.Status, "none")

	var daemons []string
	for _, p := range s.Processes.Daemons {
		daemons = append(daemons, p.Daemon+"/"+p.Role)
		if !strings.HasPrefix(p.Exe, h.Root+"/") {
			t.Errorf("daemon %s exe %s is not under the root", p.Daemon, p.Exe)
		}
	}
	sort.Strings(daemons)
	for _, d := range []string{"dispatcher/msg:budgie", "imapd/msg:budgie", "stored/msg:budgie", "ns-httpd/admin-server", "ns-slapd/slapd:budgie"} {
		if !contains(daemons, d) {
			t.Errorf("daemon %s not found in %v", d, daemons)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCollectAsNonRoot runs collect as nobody: it collects what it can,
// says what it could not (permission denied on the 0600 install.inf and
// configs), marks the snapshot non-root, and still exits 0.
// TestCollectOnly: collect --only runs the collectors named (and install,
// which resolves the target) and leaves the others out of the snapshot,
// with the same facts as a full run.
func TestCollectOnly(t *testing.T) {
	h := simtest.New(t, referenceScenario)
	bin := simtest.MsguardBinary(t)
	snap := func(extra ...string) facts.Snapshot {
		out := filepath.Join(t.TempDir(), "snap.json")
		args := append([]string{"collect", "--server-root", h.Root, "--state-dir", t.TempDir(), "-o", out}, extra...)
		if logs, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("collect %v: %v\n%s", extra, err, logs)
		}
		raw, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		var s facts.Snapshot
		if err := json.Unmarshal(raw, &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	only, full := snap("--only", "queue,store"), snap()
	var ran []string
	for name := range only.Collectors {
		ran = append(ran, name)
	}
	slices.Sort(ran)
	if !slices.Equal(ran, []string{"install", "queue", "store"}) || only.Processes != nil || only.LDAP != nil || only.Versions != nil {
		t.Errorf("--only queue,store ran %v (processes %v, ldap %v)", ran, only.Processes, only.LDAP)
	}
	if only.Queue == nil || full.Queue == nil || only.Queue.Total.Messages != full.Queue.Total.Messages || only.Store.UsersDigest != full.Store.UsersDigest {
		t.Errorf("--only facts differ from a full run's: queue %+v / %+v", only.Queue, full.Queue)
	}
}

func TestCollectAsNonRoot(t *testing.T) {
	h := simtest.New(t, referenceScenario)
	bin := simtest.MsguardBinary(t)
	// Let nobody reach the root and the binary, as on a real host.
	for _, p := range []string{h.Root, filepath.Dir(bin)} {
		for d := p; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	outDir := t.TempDir()
	if err := os.Chmod(outDir, 0o777); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(outDir, "snap.json")
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		bin, "collect", "--server-root", h.Root, "--state-dir", filepath.Join(outDir, "state"), "-q", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("collect as nobody: %v\n%s", err, b)
	}
	raw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range plantedSecrets(h.State.Scenario.Secrets) {
		if strings.Contains(string(raw), secret) {
			t.Errorf("planted secret %q appears in the snapshot", secret)
		}
	}
	var s facts.Snapshot
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	if s.Root {
		t.Error("snapshot says it was collected as root")
	}
	if s.Install == nil || s.Install.Valid || !strings.Contains(strings.Join(s.Install.Problems, ";"), "permission denied") {
		t.Errorf("install facts do not say install.inf was unreadable: %+v", s.Install)
	}
	if got := s.Collectors[facts.CollectorConfigs].Partial; !strings.Contains(strings.Join(got, ";"), "permission denied") {
		t.Errorf("configs collector does not say what it could not read: %v", got)
	}
	if s.Queue == nil || s.Queue.Total.Messages == 0 {
		t.Errorf("the readable queue was not collected: %+v", s.Queue)
	}
}
