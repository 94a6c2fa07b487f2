// Package policies judges snapshots with Rego: msguard's own policies
// (embedded, rego/) and operators' (--policy DIR), compiled once into an
// Engine with one prepared query per phase.
//
// Conventions (conftest's): a policy lives in package msguard.<phase>.<topic>
// and defines partial-set rules named deny_<id>, warn_<id>, info_<id> or
// skip_<id> (the key could not be judged for a reason that is not a
// failure, e.g. no probe account: shown as skipped, never as passed),
// each preceded by a METADATA block with a title, a description and custom
// fields: key (the finding key of runbook.md §8) and needs (the collectors
// whose facts the rule reads). A rule whose needed facts are missing is not
// evaluated: the engine reports an error finding for its key instead, so
// an unknown fact never passes.
package policies

import (
	"context"
	"errors"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/storage"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
)

// Phases are the policy phases, in the order of an upgrade.
var Phases = []string{"preflight", "quiesce", "postflight", "audit"}

// Rule describes one deny/warn/info rule, from its METADATA.
type Rule struct {
	Key         string   `json:"key"`
	Severity    string   `json:"severity"` // deny, warn, info, skip
	Phase       string   `json:"phase"`
	Title       string   `json:"title"`
	Description string   `json:"description"`
	Needs       []string `json:"needs"`
	// Path is the rule's data path, e.g. data.msguard.preflight.queue.warn_backlog.
	Path string `json:"path"`
	// File and Line locate the rule for operators' messages.
	File string `json:"file"`
	Line int    `json:"line"`
}

// Config says which policies and data to load besides the embedded ones.
type Config struct {
	// PolicyDirs are operators' policy directories (*.rego, tests excluded).
	PolicyDirs []string
	// DataFiles are operators' YAML or JSON data files, merged over the
	// embedded data (policies/data) key by key.
	DataFiles []string
}

// Engine is a compiled policy set, ready to evaluate any number of snapshots.
type Engine struct {
	compiler *ast.Compiler
	store    storage.Store
	rules    []Rule
	byPhase  map[string]rego.PreparedEvalQuery
}

// New loads, parses and compiles the policies once. A policy that does not
// parse or compile, or a rule without a proper METADATA block, is a usage
// error (exit 2) naming file:line.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	modules := map[string]*ast.Module{}
	if err := addFS(modules, embedded, "rego", "policies/rego"); err != nil {
		return nil, err
	}
	for _, dir := range cfg.PolicyDirs {
		if err := addDir(modules, dir); err != nil {
			return nil, err
		}
	}
	data, err := loadData(cfg.DataFiles)
	if err != nil {
		return nil, err
	}
	compiler := ast.NewCompiler().WithEnablePrintStatements(false)
	compiler.Compile(modules)
	if compiler.Failed() {
		return nil, exitcode.Usagef("compile policies: %v", compiler.Errors)
	}
	rules, err := collectRules(compiler)
	if err != nil {
		return nil, err
	}
	e := &Engine{
		compiler: compiler,
		store:    inmem.NewFromObject(data),
		rules:    rules,
		byPhase:  map[string]rego.PreparedEvalQuery{},
	}
	for _, phase := range Phases {
		pq, err := rego.New(
			rego.Query("data.msguard."+phase),
			rego.Compiler(compiler),
			rego.Store(e.store),
		).PrepareForEval(ctx)
		if err != nil {
			return nil, fmt.Errorf("prepare %s query: %w", phase, err)
		}
		e.byPhase[phase] = pq
	}
	return e, nil
}

// Rules returns every rule of every phase, sorted by key.
func (e *Engine) Rules() []Rule { return e.rules }

// Keys returns the set of finding keys that some rule can emit.
func (e *Engine) Keys() map[string]bool {
	keys := map[string]bool{}
	for _, r := range e.rules {
		keys[r.Key] = true
	}
	return keys
}

// addFS parses every non-test .rego file of an fs.FS.
func addFS(modules map[string]*ast.Module, fsys fs.FS, root, prefix string) error {
	return fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isPolicyFile(p) {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := filepath.Join(prefix, strings.TrimPrefix(p, root+"/"))
		return parseInto(modules, name, b)
	})
}

// addDir parses every non-test .rego file below an operator's directory.
func addDir(modules map[string]*ast.Module, dir string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return exitcode.Usagef("policy directory %s: %v", dir, unwrap(err))
	}
	if !fi.IsDir() {
		return exitcode.Usagef("policy directory %s is not a directory", dir)
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !isPolicyFile(p) {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return exitcode.Usagef("read policy %s: %v", p, unwrap(err))
		}
		return parseInto(modules, p, b)
	})
}

func isPolicyFile(p string) bool {
	return strings.HasSuffix(p, ".rego") && !strings.HasSuffix(p, "_test.rego")
}

func parseInto(modules map[string]*ast.Module, name string, src []byte) error {
	m, err := ast.ParseModuleWithOpts(name, string(src), ast.ParserOptions{
		ProcessAnnotation: true,
		RegoVersion:       ast.RegoV1,
	})
	if err != nil {
		return exitcode.Usagef("parse policy: %v", err)
	}
	modules[name] = m
	return nil
}

// collectRules reads the METADATA of every deny_/warn_/info_ rule below
// data.msguard and checks the conventions.
func collectRules(c *ast.Compiler) ([]Rule, error) {
	annotated := map[string]*ast.Annotations{}
	for _, ref := range c.GetAnnotationSet().Flatten() {
		if ref.Annotations != nil && ref.Annotations.Scope == "rule" {
			annotated[ref.Path.String()] = ref.Annotations
		}
	}
	seen := map[string]bool{}
	var rules []Rule
	var problems []string
	for _, m := range c.Modules {
		pkg := m.Package.Path.String()
		phase, ok := phaseOf(pkg)
		if !ok {
			continue
		}
		for _, r := range m.Rules {
			name := r.Head.Name.String()
			if name == "" && len(r.Head.Reference) > 0 {
				name = r.Head.Reference[len(r.Head.Reference)-1].Value.String()
			}
			sev := severityOf(name)
			if sev == "" {
				continue
			}
			path := pkg + "." + name
			if seen[path] {
				continue // incremental definitions of the same rule
			}
			seen[path] = true
			loc := r.Location
			a := annotated[path]
			if a == nil {
				problems = append(problems, fmt.Sprintf("%s:%d: rule %s has no METADATA block (title, description, custom.key, custom.needs)", loc.File, loc.Row, name))
				continue
			}
			key, _ := a.Custom["key"].(string)
			if key == "" || !strings.HasPrefix(key, phase+".") && phase != "audit" {
				problems = append(problems, fmt.Sprintf("%s:%d: rule %s: custom.key %q must start with %q", loc.File, loc.Row, name, key, phase+"."))
				continue
			}
			needs, err := stringList(a.Custom["needs"])
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s:%d: rule %s: custom.needs: %v", loc.File, loc.Row, name, err))
				continue
			}
			rules = append(rules, Rule{
				Key: key, Severity: sev, Phase: phase, Title: a.Title, Description: a.Description,
				Needs: needs, Path: path, File: loc.File, Line: loc.Row,
			})
		}
	}
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, exitcode.Usagef("policy conventions: %s", strings.Join(problems, "; "))
	}
	sort.Slice(rules, func(i, j int) bool {
		if rules[i].Key != rules[j].Key {
			return rules[i].Key < rules[j].Key
		}
		return rules[i].Path < rules[j].Path
	})
	return rules, nil
}

// phaseOf returns the phase of a package path data.msguard.<phase>.<topic>.
func phaseOf(pkg string) (string, bool) {
	rest, ok := strings.CutPrefix(pkg, "data.msguard.")
	if !ok {
		return "", false
	}
	phase, _, _ := strings.Cut(rest, ".")
	for _, p := range Phases {
		if p == phase {
			return p, true
		}
	}
	return "", false
}

func severityOf(rule string) string {
	for _, s := range []string{judgement.SeverityDeny, judgement.SeverityWarn, judgement.SeverityInfo, judgement.SeveritySkip} {
		if strings.HasPrefix(rule, s+"_") {
			return s
		}
	}
	return ""
}

func stringList(v any) ([]string, error) {
	if v == nil {
		return nil, fmt.Errorf("missing: list the collectors the rule reads ([] for none)")
	}
	items, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("want a list of collector names")
	}
	known := map[string]bool{}
	for _, c := range facts.AllCollectors {
		known[c] = true
	}
	known["baseline"] = true
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := it.(string)
		if !ok || !known[s] {
			return nil, fmt.Errorf("%v is not a collector name (%s, baseline)", it, strings.Join(facts.AllCollectors, ", "))
		}
		out = append(out, s)
	}
	return out, nil
}

func unwrap(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
