package policies

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/msguard/msguard/internal/exitcode"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// TestResult is the outcome of one Rego test_ rule.
type TestResult struct {
	Name     string // data.<package>.<rule>
	Location string // file:line
	Pass     bool
	Error    string // evaluation error, if any
	Duration time.Duration
}

// RunTests runs the *_test.rego files of msguard's embedded policies and,
// when dirs are given, of those directories, with every policy (embedded
// and the directories') and the data loaded, so operators' tests can use
// msguard's helpers (data.msguard.lib) and fixtures (data.msguard.fixtures).
// With dirs, only the directories' tests run.
func RunTests(ctx context.Context, dirs []string, dataFiles []string) ([]TestResult, error) {
	modules := map[string]*ast.Module{}
	err := fs.WalkDir(embedded, "rego", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
			return err
		}
		if len(dirs) > 0 && strings.HasSuffix(p, "_test.rego") && !strings.HasSuffix(p, "fixtures_test.rego") {
			return nil
		}
		b, err := fs.ReadFile(embedded, p)
		if err != nil {
			return err
		}
		return parseInto(modules, filepath.Join("policies", p), b)
	})
	if err != nil {
		return nil, err
	}
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, exitcode.Usagef("policy directory %s: not a readable directory", dir)
		}
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".rego") {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return exitcode.Usagef("read policy %s: %v", p, err)
			}
			return parseInto(modules, p, b)
		})
		if err != nil {
			return nil, err
		}
	}
	data, err := loadData(dataFiles)
	if err != nil {
		return nil, err
	}
	ch, err := tester.NewRunner().SetStore(inmem.NewFromObject(data)).Run(ctx, modules)
	if err != nil {
		return nil, exitcode.Usagef("compile policies: %v", err)
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{
			Name:     fmt.Sprintf("%s.%s", r.Package, r.Name),
			Pass:     !r.Fail && r.Error == nil && !r.Skip,
			Duration: r.Duration,
		}
		if r.Location != nil {
			tr.Location = fmt.Sprintf("%s:%d", r.Location.File, r.Location.Row)
		}
		if r.Error != nil {
			tr.Error = r.Error.Error()
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}
