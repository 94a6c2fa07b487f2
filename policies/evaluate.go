package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"slices"
	"sort"
	"strings"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/rego"
)

// Input is what policies see as `input`.
type Input struct {
	Snapshot *facts.Snapshot `json:"snapshot"`
	Params   Params          `json:"params"`
}

// Params are facts about the run rather than the host.
type Params struct {
	Phase string `json:"phase"`
	// Now is the evaluation time (RFC 3339); policies never call time.now_ns
	// so that a replayed snapshot gives the same verdict.
	Now string `json:"now"`
	// Media describes the installer media given to remediate (nil: none).
	Media *Media `json:"media"`
	// ForRemediate is true when remediate runs the preflight gate.
	ForRemediate bool `json:"for_remediate"`
	// BackupNeedBytes is what §2's backups need at the destination (0: unknown).
	BackupNeedBytes int64 `json:"backup_need_bytes"`
	// RestoreNeedBytes is the room a backout's restore needs in the server
	// root's filesystem (0: unknown, the queue's bytes are assumed).
	RestoreNeedBytes int64 `json:"restore_need_bytes"`
	// Baseline is the snapshot to compare with (audit), nil when none.
	Baseline *facts.Snapshot `json:"baseline"`
	// Since is the restart time after the upgrade: log records before it are history.
	Since string `json:"since,omitempty"`
}

// Media is the installer media as found on disk.
type Media struct {
	Path      string `json:"path"`
	Version   string `json:"version"` // "5.2" when DIR/msg52/setup is there
	WebServer bool   `json:"webserver"`
	DA        bool   `json:"da"`
	Error     string `json:"error,omitempty"`
}

// Result is the outcome of one phase: the fired findings (waivers not yet
// applied) and the keys that were evaluated and did not fire.
type Result struct {
	Findings []judgement.Finding
	Passed   []string
	// PassedTitles is the title of each passed key's rule.
	PassedTitles map[string]string
}

// Evaluate runs the phase's rules over the input. A rule that needs a
// collector whose facts are missing yields an error finding for its key.
func (e *Engine) Evaluate(ctx context.Context, in Input) (*Result, error) {
	pq, ok := e.byPhase[in.Params.Phase]
	if !ok {
		return nil, exitcode.Usagef("phase %q: want one of %s", in.Params.Phase, strings.Join(Phases, ", "))
	}
	value, err := toValue(in)
	if err != nil {
		return nil, err
	}
	rs, err := pq.Eval(ctx, rego.EvalParsedInput(value))
	if err != nil {
		return nil, fmt.Errorf("evaluate %s policies: %w", in.Params.Phase, err)
	}
	fired := map[string][]map[string]any{}
	if len(rs) > 0 && len(rs[0].Expressions) > 0 {
		collectFired(rs[0].Expressions[0].Value, "data.msguard."+in.Params.Phase, fired)
	}
	missing := missingCollectors(in)
	res := &Result{}
	firedKeys := map[string]bool{}
	errored := map[string]bool{}
	for _, r := range e.rules {
		if r.Phase != in.Params.Phase {
			continue
		}
		if why := missingFor(r, missing); why != "" {
			if !errored[r.Key] {
				errored[r.Key] = true
				res.Findings = append(res.Findings, judgement.Finding{
					Key: r.Key, Severity: judgement.SeverityError, Title: r.Title, Description: r.Description,
					Msg:         "could not be checked: " + why,
					Remediation: []judgement.Remediation{{Type: "hint", Text: "fix the collector error in facts_errors and run again"}},
				})
			}
			continue
		}
		for _, obj := range fired[r.Path] {
			f, err := toFinding(r, obj)
			if err != nil {
				return nil, err
			}
			firedKeys[r.Key] = true
			res.Findings = append(res.Findings, f)
		}
	}
	seen := map[string]bool{}
	for _, r := range e.rules {
		if r.Phase != in.Params.Phase || firedKeys[r.Key] || errored[r.Key] {
			continue
		}
		if !seen[r.Key] {
			seen[r.Key] = true
			res.Passed = append(res.Passed, r.Key)
		}
		res.PassedTitles = addTitle(res.PassedTitles, r.Key, r.Title)
	}
	sort.SliceStable(res.Findings, func(i, j int) bool { return res.Findings[i].Key < res.Findings[j].Key })
	sort.Strings(res.Passed)
	return res, nil
}

// addTitle adds a rule's title to its key's: the titles of the rules that
// share a key, in rule order, joined by "; ".
func addTitle(titles map[string]string, key, title string) map[string]string {
	if titles == nil {
		titles = map[string]string{}
	}
	switch have := titles[key]; {
	case title == "" || slices.Contains(strings.Split(have, "; "), title):
	case have == "":
		titles[key] = title
	default:
		titles[key] = have + "; " + title
	}
	return titles
}

// toValue converts the input to an AST value through JSON, so policies see
// exactly the snapshot's JSON field names.
func toValue(in Input) (ast.Value, error) {
	b, err := json.Marshal(in)
	if err != nil {
		return nil, fmt.Errorf("encode policy input: %w", err)
	}
	v, err := ast.ValueFromReader(strings.NewReader(string(b)))
	if err != nil {
		return nil, fmt.Errorf("convert policy input: %w", err)
	}
	return v, nil
}

// collectFired walks the phase's result document and gathers, per rule
// path, the objects each deny_/warn_/info_ set holds.
func collectFired(v any, path string, out map[string][]map[string]any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	for k, child := range m {
		p := path + "." + k
		if severityOf(k) != "" {
			if items, ok := child.([]any); ok {
				for _, it := range items {
					if obj, ok := it.(map[string]any); ok {
						out[p] = append(out[p], obj)
					} else if s, ok := it.(string); ok {
						out[p] = append(out[p], map[string]any{"msg": s})
					}
				}
			}
			continue
		}
		collectFired(child, p, out)
	}
}

// missingCollectors maps each collector whose facts are absent to why.
func missingCollectors(in Input) map[string]string {
	missing := map[string]string{}
	s := in.Snapshot
	if s == nil {
		for _, c := range facts.AllCollectors {
			missing[c] = "no snapshot"
		}
		return missing
	}
	for _, f := range facts.Families {
		if f.Present(s) {
			continue
		}
		c := f.Name
		why := "not collected"
		if run, found := s.Collectors[c]; found && run.Error != "" {
			why = run.Error
		}
		missing[c] = fmt.Sprintf("the %s collector failed: %s", c, why)
	}
	if in.Params.Baseline == nil {
		missing["baseline"] = "no baseline snapshot (pass --baseline FILE)"
	}
	return missing
}

func missingFor(r Rule, missing map[string]string) string {
	var whys []string
	for _, n := range r.Needs {
		if why, ok := missing[n]; ok {
			whys = append(whys, why)
		}
	}
	return strings.Join(whys, "; ")
}

// toFinding turns a rule's object into a Finding; metadata fills the gaps.
func toFinding(r Rule, obj map[string]any) (judgement.Finding, error) {
	str := func(k string) string {
		switch v := obj[k].(type) {
		case string:
			return v
		case nil:
			return ""
		default:
			b, _ := json.Marshal(v)
			return string(b)
		}
	}
	f := judgement.Finding{
		Key: str("key"), Severity: r.Severity, Title: str("title"), Msg: str("msg"),
		Description: str("description"), Actual: str("actual"), Expected: str("expected"),
	}
	if f.Key == "" {
		f.Key = r.Key
	}
	if f.Key != r.Key {
		return f, exitcode.Usagef("%s:%d: rule %s emitted key %q but its METADATA says %q", r.File, r.Line, r.Path, f.Key, r.Key)
	}
	if f.Title == "" {
		f.Title = r.Title
	}
	if f.Description == "" {
		f.Description = r.Description
	}
	if f.Msg == "" {
		f.Msg = f.Title
	}
	if rem, ok := obj["remediation"].([]any); ok {
		for _, it := range rem {
			switch v := it.(type) {
			case map[string]any:
				t, _ := v["type"].(string)
				text, _ := v["text"].(string)
				if t == "" {
					t = "hint"
				}
				f.Remediation = append(f.Remediation, judgement.Remediation{Type: t, Text: text})
			case string:
				f.Remediation = append(f.Remediation, judgement.Remediation{Type: "hint", Text: v})
			}
		}
	}
	return f, nil
}
