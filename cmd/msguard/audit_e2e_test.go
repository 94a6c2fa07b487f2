package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
	"github.com/msguard/msguard/sim/tree"
)

// msguardRun runs one msguard command line in-process.
func msguardRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, strings.NewReader(""), &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestAuditEndToEnd upgrades the reference host (a real OpenLDAP, real
// daemons, the store on a loop mount) with msguard remediate, then audits
// it against the baseline remediate kept: the only finding is the
// customisations setup -k dropped (a msg.conf key, site lines of
// imta/config and html); the key re-applied with configutil, the lines
// still deny; the saved files put back too, the audit passes. Then each drift is applied in turn and must be reported with its
// key.
func TestAuditEndToEnd(t *testing.T) {
	ref, err := sim.LoadScenario(filepath.Join("..", "..", "testdata", "scenarios", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := simtest.New(t, func(sc *sim.Scenario) {
		root := sc.Root
		*sc = ref
		sc.Root, sc.Users, sc.Queue.Messages, sc.Queue.Held = root, 40, 100, 5
		sc.Secrets.ProbeUID = "" // reference.yaml's probe account is user0200: the last of the 40 instead
	})
	h.Start(t)
	sc := h.State.Scenario
	mediaDir := filepath.Join(t.TempDir(), "media")
	if err := media.WriteMedia(mediaDir, simtest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	dir := t.TempDir()
	hist, metrics := filepath.Join(dir, "history"), filepath.Join(dir, "msguard.prom")
	adminPW := filepath.Join(dir, "admin.pw")
	if err := os.WriteFile(adminPW, []byte(sc.Secrets.ConfigAdmin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--server-root", h.Root, "--bind-password-file", h.DMPasswordFile(t), "--state-dir", filepath.Join(dir, "state"), "-q"}
	remediateArgs := append([]string{"remediate", "--media", mediaDir, "--admin-password-file", adminPW,
		"--backup-dir", filepath.Join(dir, "backup"), "--yes", "--no-progress"}, common...)
	if code, stdout, stderr := msguardRun(t, remediateArgs...); code != exitcode.OK {
		t.Fatalf("remediate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	// No --baseline: the audit takes the before.json of the last remediate run.
	audit := func(t *testing.T) (int, *judgement.Report) {
		t.Helper()
		args := append([]string{"audit", "--history", hist, "--metrics-file", metrics, "--format", "json"}, common...)
		code, stdout, stderr := msguardRun(t, args...)
		r, err := judgement.DecodeReport(strings.NewReader(stdout))
		if err != nil {
			t.Fatalf("audit: exit %d: %v\nstderr: %s", code, err, stderr)
		}
		return code, r
	}
	code, r := audit(t)
	if got := keysOf(r); code != exitcode.NotReady || !slices.Equal(got, []string{"audit.config.customizations/deny", "postflight.config.customizations/warn"}) {
		t.Fatalf("right after the upgrade: exit %d, findings %v; want only the customisation setup -k dropped", code, keysOf(r))
	}
	inst := h.Paths.Inst()
	backups, _ := filepath.Glob(filepath.Join(inst, "backup.[0-9]*"))
	if len(backups) == 0 || len(tree.CustomizedFiles(&sc)) == 0 {
		t.Fatalf("no backup.<timestamp> in %s (%v) or reference.yaml plants no site lines", inst, backups)
	}
	backup := backups[len(backups)-1]
	for _, f := range r.Findings {
		for rel, line := range tree.SiteLines() {
			if f.Key == "audit.config.customizations" && !strings.Contains(f.Msg, fmt.Sprintf("%s: line %q missing", rel, line)) {
				t.Errorf("the audit does not name the site line of %s: %s", rel, f.Msg)
			}
		}
	}
	for k, v := range sc.Customizations {
		h.Run(t, "msg-budgie/configutil", "-o", k, "-v", v)
	}
	// The keys alone are not enough: the site lines are still missing.
	code, r = audit(t)
	if code != exitcode.NotReady || !hasKey(r, "audit.config.customizations") {
		t.Fatalf("keys re-applied, site lines not: exit %d, findings %v; want audit.config.customizations", code, keysOf(r))
	}
	for _, f := range r.Findings {
		if f.Key == "audit.config.customizations" && strings.Contains(f.Msg, "msg.conf") {
			t.Errorf("the re-applied key is still reported: %s", f.Msg)
		}
	}
	// The site lines: the saved files put back (the simulated 5.2 defaults
	// are the 5.1 files without them).
	for _, rel := range tree.CustomizedFiles(&sc) {
		b, err := os.ReadFile(filepath.Join(backup, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inst, filepath.FromSlash(rel)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.Run(t, "msg-budgie/stop-msg")
	h.Run(t, "msg-budgie/start-msg")
	code, r = audit(t)
	if code != exitcode.OK || r.Verdict != judgement.VerdictHealthy || r.Phase != "audit" {
		t.Fatalf("upgraded host, customisation re-applied: exit %d, verdict %s: %v", code, r.Verdict, keysOf(r))
	}
	if !hasString(r.Passed, "audit.baseline.users") || !hasString(r.Passed, "audit.queue.undelivered") || !hasString(r.Passed, "postflight.msg.not_running") {
		t.Errorf("passed keys lack the postflight or audit phase: %v", r.Passed)
	}

	drifts := []struct {
		name  string
		apply func(t *testing.T)
		keys  []string
	}{
		{"user deleted from the directory", func(t *testing.T) {
			conn, err := directory.Connect(ctx, directory.URL(h.State, sc.DSInstances[0]), "cn=Directory Manager", sc.Secrets.DirectoryManager)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if err := conn.Del(ldap.NewDelRequest("uid=user0007,"+directory.PeopleDN, nil)); err != nil {
				t.Fatal(err)
			}
		}, []string{"audit.baseline.users"}},
		{"mailbox removed", func(t *testing.T) {
			m, _ := filepath.Glob(filepath.Join(h.Paths.Store(), "=user", "*", "*", "=user0003"))
			if len(m) != 1 {
				t.Fatalf("mailbox =user0003: %v", m)
			}
			if err := os.RemoveAll(m[0]); err != nil {
				t.Fatal(err)
			}
		}, []string{"audit.baseline.mailboxes"}},
		{"stuck message", func(t *testing.T) {
			p := filepath.Join(h.Paths.Queue(), "tcp_local", "ZZ0AUDITSTUCK01.00")
			if err := os.WriteFile(p, []byte("user0001@siroe.com\n*\nSubject: stuck\n\nbody\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			old := time.Now().Add(-3 * time.Hour)
			if err := os.Chtimes(p, old, old); err != nil {
				t.Fatal(err)
			}
		}, []string{"audit.queue.undelivered", "postflight.queue.stuck"}},
		{"J record in mail.log_current", func(t *testing.T) {
			f, err := os.OpenFile(h.Paths.MailLog(), os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			line := fmt.Sprintf("%s tcp_local    tcp_local  J 0 user0001@siroe.com rfc822;someone@elsewhere.example someone@elsewhere.example 550 5.7.1 Relaying not allowed    Error: recipient rejected\n",
				time.Now().Format("02-Jan-2006 15:04:05.00"))
			if _, err := f.WriteString(line); err != nil {
				t.Fatal(err)
			}
		}, []string{"postflight.maillog.errors"}},
		{"imapd stopped", func(t *testing.T) {
			pidFile := filepath.Join(h.Paths.RunDir(), "imapd.pid")
			b, err := os.ReadFile(pidFile)
			if err != nil {
				t.Fatal(err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			for syscall.Kill(pid, 0) == nil {
				time.Sleep(10 * time.Millisecond)
			}
		}, []string{"postflight.msg.not_running"}},
		{"customised msg.conf key lost", func(t *testing.T) {
			// msg.conf rewritten without the key (an old copy put back, a re-run of setup).
			path := filepath.Join(inst, "config", "msg.conf")
			cur, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var kept []string
			for _, line := range strings.SplitAfter(string(cur), "\n") {
				if !strings.HasPrefix(line, "service.imap.idletimeout ") {
					kept = append(kept, line)
				}
			}
			if len(kept) == len(strings.SplitAfter(string(cur), "\n")) {
				t.Fatalf("msg.conf has no service.imap.idletimeout line:\n%s", cur)
			}
			if err := os.WriteFile(path, []byte(strings.Join(kept, "")), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"audit.config.customizations", "postflight.config.customizations"}},
	}
	for _, d := range drifts {
		d.apply(t)
		code, r := audit(t)
		if code != exitcode.NotReady || r.Verdict != judgement.VerdictUnhealthy {
			t.Errorf("%s: exit %d, verdict %s; want %d unhealthy", d.name, code, r.Verdict, exitcode.NotReady)
		}
		for _, k := range d.keys {
			if !hasKey(r, k) {
				t.Errorf("%s: no finding %s in %v", d.name, k, keysOf(r))
			}
		}
	}

	// Every run is in the history; history shows what the last drift added.
	code, stdout, stderr := msguardRun(t, "audit", "history", "--history", hist, "--format", "json")
	if code != 0 {
		t.Fatalf("audit history: exit %d: %s", code, stderr)
	}
	var hv struct {
		Runs    []historyRun
		Changes struct{ New, Persisting []struct{ Key string } }
	}
	if err := json.Unmarshal([]byte(stdout), &hv); err != nil {
		t.Fatal(err)
	}
	if len(hv.Runs) != 3+len(drifts) {
		t.Errorf("%d runs in the history; want %d", len(hv.Runs), 3+len(drifts))
	}
	var newKeys []string
	for _, k := range hv.Changes.New {
		newKeys = append(newKeys, k.Key)
	}
	if !hasString(newKeys, "audit.config.customizations") || hasString(newKeys, "audit.baseline.users") {
		t.Errorf("new keys of the last run: %v", newKeys)
	}
	if m, err := os.ReadFile(metrics); err != nil || !strings.Contains(string(m), `msguard_verdict{phase="audit",verdict="unhealthy"} 1`) {
		t.Errorf("metrics file: %v\n%s", err, m)
	}
	for _, s := range []string{sc.Secrets.DirectoryManager, sc.Secrets.UGBindCred, sc.Secrets.PABPassword} {
		b, _ := os.ReadFile(filepath.Join(hist, hv.Runs[len(hv.Runs)-1].Run+".json"))
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the history holds a secret")
		}
	}
}

func hasKey(r *judgement.Report, key string) bool {
	for _, f := range r.Findings {
		if f.Key == key {
			return true
		}
	}
	return false
}

// keysOf lists the findings as KEY/SEVERITY, sorted, skips left out (keys
// not judged, such as the mail-flow probe's without a probe account:
// mailflow_e2e_test.go covers those).
func keysOf(r *judgement.Report) []string {
	var out []string
	for _, f := range r.Findings {
		if f.Severity == judgement.SeveritySkip {
			continue
		}
		out = append(out, f.Key+"/"+f.Severity)
	}
	slices.Sort(out)
	return out
}

func hasString(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
