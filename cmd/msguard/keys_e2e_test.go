package main

import (
	"encoding/json"
	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/judgement"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/simtest"
)

// keyCase is one host condition and the exact set of keys each phase
// must report for it (deny, warn and error findings alike).
type keyCase struct {
	name                           string
	mutate                         func(t *testing.T, h *simtest.Host, env *checkEnv) (undo func())
	preflight, quiesce, postflight []string
}

// checkEnv is what a check run needs besides the host.
type checkEnv struct {
	stateDir, backupDir string
}

// firedKeys runs the real msguard check and returns the keys of the
// findings it reports (skips left out), sorted.
func firedKeys(t *testing.T, h *simtest.Host, env *checkEnv, phase string) []string {
	t.Helper()
	args := []string{"check", "--phase", phase, "--server-root", h.Root, "--bind-password-file", h.DMPasswordFile(t),
		"--state-dir", env.stateDir, "--format", "json", "-q"}
	if env.backupDir != "" {
		args = append(args, "--backup-dir", env.backupDir)
	}
	out, err := exec.Command(simtest.MsguardBinary(t), args...).Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || (ee.ExitCode() != 0 && ee.ExitCode() != 3)) {
		t.Fatalf("check --phase %s: %v: %s", phase, err, out)
	}
	var r judgement.Report
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("check --phase %s: %v\n%s", phase, err, out)
	}
	seen := map[string]bool{}
	for _, f := range r.Findings {
		if f.Severity == judgement.SeveritySkip {
			continue // not judged (no probe account): mailflow_e2e_test.go covers the probe
		}
		seen[f.Key] = true
	}
	keys := make([]string, 0, len(seen))
	for k := range seen {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func union(base []string, extra ...string) []string {
	set := map[string]bool{}
	for _, k := range append(append([]string{}, base...), extra...) {
		set[k] = true
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestKeysFireExactly runs check on simulated hosts in known conditions:
// each runbook §8 key fires exactly where the condition holds and nowhere
// else (the remaining keys: media.missing in the remediate tests,
// version_unsupported and audit.* in the Rego unit tests, preflight.ha.*
// in the Rego unit tests and on the HA hosts of collectors/script's
// parity test, which judges them live and from the sh collector).
func TestKeysFireExactly(t *testing.T) {
	h := simtest.New(t, func(s *sim.Scenario) {
		referenceScenario(s)
		s.MailLog = sim.MailLogSpec{E: 5, D: 5}
	})
	h.Start(t)

	// What a running, ready 5.1 host with DS 4.13, Web Server 6.0 SP1, DA 1.1
	// and queued, held messages reports in each phase.
	basePre := []string{"preflight.da.upgrade_required", "preflight.ds.upgrade_required", "preflight.queue.backlog",
		"preflight.queue.held",
		"preflight.webserver.upgrade_required"}
	baseQuiesce := []string{"quiesce.admin.running", "quiesce.dispatcher.running", "quiesce.msg.running", "quiesce.webserver.running"}
	basePost := []string{"postflight.da.version", "postflight.ds.version", "postflight.ldap.dssetup_missing",
		"postflight.msg.version", "postflight.queue.stuck", "postflight.webserver.version"}

	cases := []keyCase{
		{name: "ready 5.1 host", preflight: basePre, quiesce: baseQuiesce, postflight: basePost},
		{name: "install.inf names another machine",
			mutate: func(t *testing.T, h *simtest.Host, _ *checkEnv) func() {
				return editFile(t, filepath.Join(h.Root, "setup", "install.inf"), "FullMachineName= "+h.State.Scenario.Host, "FullMachineName= old-mail.siroe.com")
			},
			preflight: union(basePre, "preflight.host.mismatch"), quiesce: baseQuiesce, postflight: basePost},
		{name: "store partition missing",
			mutate: func(t *testing.T, h *simtest.Host, _ *checkEnv) func() {
				store := h.Paths.Store()
				if err := os.Rename(store, store+".away"); err != nil {
					t.Fatal(err)
				}
				return func() { _ = os.Rename(store+".away", store) }
			},
			preflight: union(basePre, "preflight.store.missing"), quiesce: baseQuiesce,
			postflight: union(basePost, "postflight.store.not_restored")},
		{name: "an earlier remediate run failed",
			mutate: func(t *testing.T, h *simtest.Host, env *checkEnv) func() {
				p := runstate.Path(env.stateDir, h.Root)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				doc := `{"root": "` + h.Root + `", "status": "failed", "last_step": "msg.setup", "reason": "setup exited 1"}`
				if err := os.WriteFile(p, []byte(doc), 0o600); err != nil {
					t.Fatal(err)
				}
				return func() { _ = os.Remove(p) }
			},
			preflight: union(basePre, "preflight.run.unfinished"), quiesce: baseQuiesce, postflight: basePost},
		{name: "backup destination too small",
			mutate: func(t *testing.T, h *simtest.Host, env *checkEnv) func() {
				dir := t.TempDir()
				if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", dir).CombinedOutput(); err != nil {
					t.Fatalf("mount tmpfs: %v: %s", err, out)
				}
				env.backupDir = filepath.Join(dir, "backup")
				return func() { env.backupDir = ""; _ = exec.Command("umount", dir).Run() }
			},
			preflight: union(basePre, "preflight.disk.backup_space"), quiesce: baseQuiesce, postflight: basePost},
		{name: "error records in the MTA log",
			mutate: func(t *testing.T, h *simtest.Host, _ *checkEnv) func() {
				return appendFile(t, h.Paths.MailLog(), "27-Nov-2026 12:00:00.00 tcp_local ims-ms J 1 spam@evil.example rfc822;x@siroe.com x@siroe.com 550 5.1.1 unknown user\n")
			},
			preflight: basePre, quiesce: baseQuiesce, postflight: union(basePost, "postflight.maillog.errors")},
		{name: "Messaging Server and Administration Server stopped",
			mutate: func(t *testing.T, h *simtest.Host, _ *checkEnv) func() {
				for _, s := range []string{filepath.Join("msg-budgie", "stop-msg"), "stop-admin", filepath.Join("https-admserv", "stop"), filepath.Join("https-"+h.State.Scenario.Host, "stop")} {
					h.Run(t, s)
				}
				return func() {
					for _, s := range []string{filepath.Join("msg-budgie", "start-msg"), "start-admin", filepath.Join("https-admserv", "start"), filepath.Join("https-"+h.State.Scenario.Host, "start")} {
						h.Run(t, s)
					}
				}
			},
			preflight: basePre, quiesce: nil, postflight: union(basePost, "postflight.msg.not_running")},
		{name: "server root without admin-serv",
			mutate: func(t *testing.T, h *simtest.Host, _ *checkEnv) func() {
				a := filepath.Join(h.Root, "admin-serv")
				if err := os.Rename(a, a+".away"); err != nil {
					t.Fatal(err)
				}
				return func() { _ = os.Rename(a+".away", a) }
			},
			preflight: union(basePre, "preflight.server_root.invalid"), quiesce: baseQuiesce,
			postflight: basePost},
		{name: "directory down",
			mutate: func(t *testing.T, h *simtest.Host, _ *checkEnv) func() {
				h.Run(t, filepath.Join("slapd-budgie", "stop-slapd"))
				return func() { h.Run(t, filepath.Join("slapd-budgie", "start-slapd")) }
			},
			// Without the directory its facts say unreachable: the rules that
			// read them fire, and the dssetup check cannot pass.
			preflight: union(basePre, "preflight.ds.unreachable"), quiesce: union(baseQuiesce, "quiesce.ds.unreachable"),
			postflight: basePost},
	}
	for _, c := range cases {
		env := &checkEnv{stateDir: t.TempDir()}
		undo := func() {}
		if c.mutate != nil {
			undo = c.mutate(t, h, env)
		}
		for phase, want := range map[string][]string{"preflight": c.preflight, "quiesce": c.quiesce, "postflight": c.postflight} {
			got := firedKeys(t, h, env, phase)
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("%s, %s:\n got  %v\n want %v", c.name, phase, got, want)
			}
		}
		undo()
	}
}

// editFile replaces old with new in a file and returns the undo.
func editFile(t *testing.T, path, old, new string) func() {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	return func() { _ = os.WriteFile(path, b, 0o600) }
}

// appendFile appends a line to a file and returns the undo.
func appendFile(t *testing.T, path, line string) func() {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(append([]byte{}, b...), line...), 0o644); err != nil {
		t.Fatal(err)
	}
	return func() { _ = os.WriteFile(path, b, 0o644) }
}

// TestKeysFireExactlyUpgradedHost covers the keys of a host that is
// already 5.2, or whose versions cannot be read at all.
func TestKeysFireExactlyUpgradedHost(t *testing.T) {
	h := simtest.New(t, func(s *sim.Scenario) {
		s.MsgVersion, s.DSVersion, s.Users = "5.2 HotFix 1.02", "4.16", 10
	})
	h.Start(t)
	env := &checkEnv{stateDir: t.TempDir()}
	cases := []struct {
		name   string
		mutate func() func()
		pre    []string
	}{
		{"already 5.2", nil, []string{"preflight.msg.already_upgraded"}},
		{"no version source readable", func() func() {
			h.Run(t, filepath.Join("msg-budgie", "stop-msg"))
			imsimta := filepath.Join(h.Paths.Inst(), "imsimta")
			nsSlapd := h.Paths.NsSlapd()
			slapdInf := filepath.Join(h.Root, "setup", "slapd", "slapd.inf")
			for _, p := range []string{imsimta, nsSlapd, slapdInf} {
				if err := os.Rename(p, p+".away"); err != nil {
					t.Fatal(err)
				}
			}
			return func() {
				for _, p := range []string{imsimta, nsSlapd, slapdInf} {
					_ = os.Rename(p+".away", p)
				}
				h.Run(t, filepath.Join("msg-budgie", "start-msg"))
			}
		}, []string{"preflight.ds.version_unknown", "preflight.msg.version_unknown"}},
	}
	for _, c := range cases {
		undo := func() {}
		if c.mutate != nil {
			undo = c.mutate()
		}
		if got := firedKeys(t, h, env, "preflight"); strings.Join(got, " ") != strings.Join(c.pre, " ") {
			t.Errorf("%s, preflight:\n got  %v\n want %v", c.name, got, c.pre)
		}
		undo()
	}
	if got := firedKeys(t, h, env, "postflight"); strings.Join(got, " ") != "postflight.ldap.dssetup_missing" {
		t.Errorf("5.2 host before ims_dssetup, postflight: got %v", got)
	}
}
