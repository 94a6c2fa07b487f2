package policies

import (
	"context"
	"github.com/msguard/msguard/judgement"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
)

func engine(t *testing.T, cfg Config) *Engine {
	t.Helper()
	e, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return e
}

// readySnapshot is a 5.1 host that is ready in every respect.
func readySnapshot() *facts.Snapshot {
	old := time.Date(2026, 11, 27, 11, 50, 0, 0, time.UTC)
	return &facts.Snapshot{
		Schema: facts.SnapshotSchema, Host: "mail.siroe.com", ServerRoot: "/srv/server5", Instance: "budgie",
		Collectors: map[string]facts.CollectorRun{},
		Install: &facts.Install{Valid: true, FullMachineName: "mail.siroe.com", ThisHost: []string{"mail.siroe.com"},
			SameMachine: true, StoreExists: true, StorePath: "/srv/server5/msg-budgie/store/partition/primary"},
		Versions: &facts.Versions{
			Messaging:      facts.ProductVersion{Installed: true, Version: "5.1", Agreed: true},
			Directory:      facts.ProductVersion{Installed: true, Version: "4.16", Agreed: true},
			WebServer:      facts.ProductVersion{},
			DelegatedAdmin: facts.ProductVersion{},
		},
		Processes: &facts.Processes{},
		Mounts: &facts.Mounts{Filesystems: map[string]facts.DiskSpace{
			"server_root": {Path: "/srv", FreeBytes: 1 << 40}, "backup": {Path: "/b", FreeBytes: 1 << 40}}},
		Queue:    &facts.Queue{Total: facts.QueueCounts{Oldest: &old}},
		Store:    &facts.Store{Mailboxes: 3, Bytes: 100},
		Configs:  &facts.Configs{},
		LDAP:     &facts.LDAP{Reachable: true, Bound: true, PABExists: true, SchemaInetMailUser: true},
		HA:       &facts.HA{Kind: "none"},
		MailLog:  &facts.MailLog{},
		RunState: &facts.RunState{Status: "none"},
	}
}

func params(phase string) Params {
	return Params{Phase: phase, Now: "2026-11-27T12:00:00Z"}
}

func TestReadyHostIsReady(t *testing.T) {
	e := engine(t, Config{})
	res, err := e.Evaluate(context.Background(), Input{Snapshot: readySnapshot(), Params: params("preflight")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 0 {
		t.Fatalf("findings on a ready host: %+v", res.Findings)
	}
	if len(res.Passed) < 15 {
		t.Errorf("passed %d keys; want every preflight key", len(res.Passed))
	}
}

// TestMissingFactsNeverPass removes each collector's facts in turn: every
// rule that needs that collector must give an error finding, in every phase.
func TestMissingFactsNeverPass(t *testing.T) {
	e := engine(t, Config{})
	clear := map[string]func(*facts.Snapshot){
		facts.CollectorInstall:   func(s *facts.Snapshot) { s.Install = nil },
		facts.CollectorVersions:  func(s *facts.Snapshot) { s.Versions = nil },
		facts.CollectorProcesses: func(s *facts.Snapshot) { s.Processes = nil },
		facts.CollectorMounts:    func(s *facts.Snapshot) { s.Mounts = nil },
		facts.CollectorQueue:     func(s *facts.Snapshot) { s.Queue = nil },
		facts.CollectorStore:     func(s *facts.Snapshot) { s.Store = nil },
		facts.CollectorConfigs:   func(s *facts.Snapshot) { s.Configs = nil },
		facts.CollectorLDAP:      func(s *facts.Snapshot) { s.LDAP = nil },
		facts.CollectorHA:        func(s *facts.Snapshot) { s.HA = nil },
		facts.CollectorMailLog:   func(s *facts.Snapshot) { s.MailLog = nil },
		facts.CollectorRunState:  func(s *facts.Snapshot) { s.RunState = nil },
		// The mail-flow rules need no collector (an old snapshot has no
		// probe facts: skipped); TestMailFlowNeverPassesUnprobed covers them.
		facts.CollectorMailFlow: func(s *facts.Snapshot) { s.MailFlow = nil },
	}
	if len(clear) != len(facts.AllCollectors) {
		t.Fatalf("test covers %d collectors; there are %d", len(clear), len(facts.AllCollectors))
	}
	used := map[string]bool{}
	for collector, drop := range clear {
		for _, phase := range Phases {
			s := readySnapshot()
			drop(s)
			s.Collectors[collector] = facts.CollectorRun{Error: "boom " + collector}
			p := params(phase)
			p.Baseline = readySnapshot()
			res, err := e.Evaluate(context.Background(), Input{Snapshot: s, Params: p})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]judgement.Finding{}
			for _, f := range res.Findings {
				if f.Severity == judgement.SeverityError {
					got[f.Key] = f
				}
			}
			for _, r := range e.Rules() {
				if r.Phase != phase || !contains(r.Needs, collector) {
					continue
				}
				used[collector] = true
				f, ok := got[r.Key]
				if !ok {
					t.Errorf("%s facts missing: %s gave no error finding", collector, r.Key)
					continue
				}
				if !strings.Contains(f.Msg, "boom "+collector) {
					t.Errorf("%s: error finding %q does not carry the collector's error", r.Key, f.Msg)
				}
				for _, p := range res.Passed {
					if p == r.Key {
						t.Errorf("%s listed as passed although its facts are missing", r.Key)
					}
				}
			}
		}
	}
	for _, c := range []string{facts.CollectorInstall, facts.CollectorVersions, facts.CollectorProcesses,
		facts.CollectorMounts, facts.CollectorQueue, facts.CollectorStore, facts.CollectorConfigs,
		facts.CollectorLDAP, facts.CollectorHA, facts.CollectorMailLog, facts.CollectorRunState} {
		if !used[c] {
			t.Errorf("no rule declares it needs %s", c)
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

func TestOperatorPolicies(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return filepath.Dir(p)
	}
	good := write("good/site.rego", `package msguard.preflight.site

# METADATA
# title: Too few mailboxes for this site
# description: Our site has at least 10 mailboxes.
# custom:
#   key: preflight.site.mailboxes
#   needs: [store]
deny_mailboxes contains {"key": "preflight.site.mailboxes", "msg": sprintf("%d mailboxes", [input.snapshot.store.mailboxes])} if {
	input.snapshot.store.mailboxes < data.site.min_mailboxes
}
`)
	dataFile := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(dataFile, []byte("site:\n  min_mailboxes: 10\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e := engine(t, Config{PolicyDirs: []string{good}, DataFiles: []string{dataFile}})
	res, err := e.Evaluate(context.Background(), Input{Snapshot: readySnapshot(), Params: params("preflight")})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Findings) != 1 || res.Findings[0].Key != "preflight.site.mailboxes" || res.Findings[0].Msg != "3 mailboxes" ||
		res.Findings[0].Title != "Too few mailboxes for this site" {
		t.Fatalf("operator policy findings = %+v", res.Findings)
	}

	bad := []struct{ name, src, want string }{
		{"syntax/x.rego", "package msguard.preflight.x\n\ndeny_x contains f if {\n  f := \n}\n", "syntax/x.rego:"},
		{"nometa/x.rego", "package msguard.preflight.y\n\ndeny_y contains \"m\" if { true }\n", "nometa/x.rego:3: rule deny_y has no METADATA"},
		{"badneeds/x.rego", "package msguard.preflight.z\n\n# METADATA\n# title: t\n# description: d\n# custom:\n#   key: preflight.z.z\n#   needs: [nosuch]\ndeny_z contains \"m\" if { true }\n", "nosuch is not a collector name"},
		{"badkey/x.rego", "package msguard.preflight.w\n\n# METADATA\n# title: t\n# description: d\n# custom:\n#   key: postflight.w.w\n#   needs: []\ndeny_w contains \"m\" if { true }\n", `must start with "preflight."`},
	}
	for _, b := range bad {
		d := write(b.name, b.src)
		_, err := New(context.Background(), Config{PolicyDirs: []string{d}})
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: error %v (exit %d); want exit 2 containing %q", b.name, err, exitcode.Of(err), b.want)
		}
	}
	if _, err := New(context.Background(), Config{PolicyDirs: []string{filepath.Join(dir, "nope")}}); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("missing policy dir: %v", err)
	}
	if _, err := New(context.Background(), Config{DataFiles: []string{filepath.Join(dir, "nope.yaml")}}); exitcode.Of(err) != exitcode.Usage {
		t.Errorf("missing data file: %v", err)
	}
}

func TestWaivers(t *testing.T) {
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	ws, err := ParseWaivers("w.yaml", []byte(`waivers:
  - key: preflight.queue.held
    reason: spam quarantine, saved by backup.queue
    approver: ops@siroe.com
    expires: 2026-12-31
  - key: preflight.ds.unreachable
    reason: old
    approver: ops@siroe.com
    expires: 2026-11-26
  - key: preflight.no.such
    reason: typo
    approver: ops@siroe.com
    expires: 2027-01-01
`))
	if err != nil {
		t.Fatal(err)
	}
	findings := []judgement.Finding{
		{Key: "preflight.queue.held", Severity: "warn"},
		{Key: "preflight.ds.unreachable", Severity: "deny"},
	}
	known := map[string]bool{"preflight.queue.held": true, "preflight.ds.unreachable": true}
	out := ApplyWaivers(findings, ws, known, now)
	if out[0].Waived == nil || out[0].Waived.Approver != "ops@siroe.com" {
		t.Errorf("held not waived: %+v", out[0])
	}
	if out[1].Waived != nil {
		t.Errorf("expired waiver applied: %+v", out[1])
	}
	var keys []string
	for _, f := range out[2:] {
		keys = append(keys, f.Key+"/"+f.Severity)
	}
	if strings.Join(keys, ",") != "waiver.expired/warn,waiver.unknown_key/warn" {
		t.Errorf("waiver warnings = %v", keys)
	}

	bad := []struct{ src, want string }{
		{"waivers:\n  - key: a.b.c\n    approver: x\n    expires: 2026-12-31\n", "w.yaml:2: waiver for \"a.b.c\" has no reason"},
		{"waivers:\n  - key: a.b.c\n    reason: r\n    approver: x\n    expires: soon\n", "not a date"},
		{"waivers: [\n", "w.yaml"},
		{"waivers:\n  - reason: r\n    approver: x\n    expires: 2026-12-31\n", "has no key"},
	}
	for _, b := range bad {
		_, err := ParseWaivers("w.yaml", []byte(b.src))
		if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%q: error %v; want exit 2 containing %q", b.src, err, b.want)
		}
	}
}

func TestReportVerdictAndExitCode(t *testing.T) {
	tests := []struct {
		phase      string
		findings   []judgement.Finding
		failOnWarn bool
		verdict    string
		code       int
	}{
		{"preflight", nil, false, judgement.VerdictReady, exitcode.OK},
		{"preflight", []judgement.Finding{{Key: "k", Severity: "deny"}}, false, judgement.VerdictNotReady, exitcode.NotReady},
		{"preflight", []judgement.Finding{{Key: "k", Severity: "error"}}, false, judgement.VerdictNotReady, exitcode.NotReady},
		{"preflight", []judgement.Finding{{Key: "k", Severity: "deny", Waived: &judgement.Waived{}}}, false, judgement.VerdictReady, exitcode.OK},
		{"preflight", []judgement.Finding{{Key: "k", Severity: "warn"}}, false, judgement.VerdictReady, exitcode.OK},
		{"preflight", []judgement.Finding{{Key: "k", Severity: "warn"}}, true, judgement.VerdictReady, exitcode.WarnOnly},
		{"postflight", []judgement.Finding{{Key: "k", Severity: "deny"}}, true, judgement.VerdictUnhealthy, exitcode.NotReady},
		{"audit", nil, true, judgement.VerdictHealthy, exitcode.OK},
	}
	for _, tt := range tests {
		r := Report(Judgement{Phase: tt.phase, Snapshot: readySnapshot(), Result: &Result{Findings: tt.findings}, FailOnWarn: tt.failOnWarn})
		if r.Verdict != tt.verdict || r.ExitCode != tt.code {
			t.Errorf("%s %v failOnWarn=%v: verdict %s exit %d; want %s %d", tt.phase, tt.findings, tt.failOnWarn, r.Verdict, r.ExitCode, tt.verdict, tt.code)
		}
	}
}
