package policies

import (
	"context"
	"testing"
)

// runbookKeys is the minimum set of runbook.md §8: every key must have a rule.
var runbookKeys = []string{
	"preflight.server_root.invalid", "preflight.msg.version_unknown", "preflight.msg.version_unsupported",
	"preflight.msg.already_upgraded", "preflight.host.mismatch", "preflight.ds.unreachable",
	"preflight.ds.upgrade_required", "preflight.ds.version_unknown", "preflight.disk.backup_space",
	"preflight.queue.backlog", "preflight.queue.held", "preflight.store.missing", "preflight.media.missing",
	"preflight.run.unfinished", "preflight.webserver.upgrade_required", "preflight.da.upgrade_required",
	"preflight.ha.not_master", "preflight.ha.node_unreachable",
	"quiesce.dispatcher.running", "quiesce.msg.running", "quiesce.admin.running", "quiesce.webserver.running",
	"quiesce.ds.unreachable", "postflight.msg.version", "postflight.ds.version", "postflight.msg.not_running",
	"postflight.store.not_restored", "postflight.ldap.dssetup_missing", "postflight.maillog.errors",
	"postflight.queue.stuck", "postflight.config.customizations", "postflight.webserver.version",
	"postflight.da.version", "audit.baseline.users", "audit.baseline.mailboxes",
}

func TestEveryRunbookKeyHasARule(t *testing.T) {
	e, err := New(context.Background(), Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys := e.Keys()
	for _, k := range runbookKeys {
		if !keys[k] {
			t.Errorf("no rule emits %s", k)
		}
	}
	for _, r := range e.Rules() {
		if r.Title == "" || r.Description == "" {
			t.Errorf("%s (%s:%d): METADATA needs a title and a description", r.Key, r.File, r.Line)
		}
	}
}

// TestRegoUnitTests runs every *_test.rego of the embedded policies with
// OPA's tester, against the embedded data.
func TestRegoUnitTests(t *testing.T) {
	results, err := RunTests(context.Background(), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if !r.Pass {
			t.Errorf("%s (%s): %s", r.Name, r.Location, r.Error)
		}
	}
	if len(results) < 30 {
		t.Errorf("ran %d Rego tests; want at least 30", len(results))
	}
	t.Logf("%d Rego tests", len(results))
}
