package policies

import (
	"context"
	"io/fs"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// runbookKeys is the minimum set of runbook.md §8: every key must have a rule.
var runbookKeys = []string{
	"preflight.server_root.invalid", "preflight.msg.version_unknown", "preflight.msg.version_unsupported",
	"preflight.msg.already_upgraded", "preflight.host.mismatch", "preflight.ds.unreachable",
	"preflight.ds.upgrade_required", "preflight.ds.version_unknown", "preflight.disk.backup_space",
	"preflight.queue.backlog", "preflight.queue.held", "preflight.store.missing", "preflight.media.missing",
	"preflight.run.unfinished", "preflight.webserver.upgrade_required", "preflight.da.upgrade_required",
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
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(embedded, "rego", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		b, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		m, err := ast.ParseModuleWithOpts(p, string(b), ast.ParserOptions{ProcessAnnotation: true, RegoVersion: ast.RegoV1})
		if err != nil {
			return err
		}
		modules[p] = m
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := loadData(nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ch, err := tester.NewRunner().SetStore(inmem.NewFromObject(data)).Run(ctx, modules)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for r := range ch {
		n++
		if r.Fail || r.Error != nil {
			t.Errorf("%s.%s (%s): fail=%v error=%v", r.Package, r.Name, r.Location, r.Fail, r.Error)
		}
	}
	if n < 20 {
		t.Errorf("ran %d Rego tests; want at least 20", n)
	}
	t.Logf("%d Rego tests", n)
}
