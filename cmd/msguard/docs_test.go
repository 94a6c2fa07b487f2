package main

import (
	"bytes"
	"github.com/msguard/msguard/internal/doctable"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/msguard/msguard/policies"
)

// runbookDoc is the step-id and finding-key reference.
var runbookDoc = filepath.Join("..", "..", "docs", "runbook.md")

// Headings of docs/runbook.md whose tables the tests read (the
// convention is stated in that file, "How the tables are read").
const (
	findingKeysHeading = "## Finding keys"
	ownKeysHeading     = "## Keys msguard emits itself"
)

// listedRule is one row that `msguard policy list` prints.
type listedRule struct {
	key, phase, severity, title string
}

// policyList runs `msguard policy list` in-process and parses its table by
// the header's column positions (the NEEDS column may be empty).
func policyList(t *testing.T) []listedRule {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"policy", "list"}, strings.NewReader(""), &stdout, &stderr); code != 0 {
		t.Fatalf("msguard policy list exited %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimRight(stdout.String(), "\n"), "\n")
	header := lines[0]
	needsAt, titleAt := strings.Index(header, "NEEDS"), strings.Index(header, "TITLE")
	if !strings.HasPrefix(header, "KEY") || needsAt < 0 || titleAt < needsAt {
		t.Fatalf("policy list header %q: want KEY PHASE SEVERITY NEEDS TITLE", header)
	}
	var out []listedRule
	for _, l := range lines[1:] {
		if len(l) < titleAt {
			t.Fatalf("policy list row %q is shorter than its header", l)
		}
		f := strings.Fields(l[:needsAt])
		if len(f) != 3 {
			t.Fatalf("policy list row %q: want key, phase and severity before NEEDS", l)
		}
		out = append(out, listedRule{key: f[0], phase: f[1], severity: f[2], title: strings.TrimSpace(l[titleAt:])})
	}
	if len(out) == 0 {
		t.Fatal("policy list printed no rule")
	}
	return out
}

// TestDocsFindingKeys compares the finding keys `msguard policy list`
// prints with the finding-key table of docs/runbook.md, both ways, and
// each documented key's phase, severity and titles with the rules that
// emit it. Keys are a public contract (waivers and CI pipelines name them).
func TestDocsFindingKeys(t *testing.T) {
	documented, err := doctable.Read(runbookDoc, findingKeysHeading)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string][]listedRule{}
	for _, r := range policyList(t) {
		listed[r.key] = append(listed[r.key], r)
	}

	var keys []string
	for k := range listed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		row, ok := documented[k]
		if !ok {
			t.Errorf("finding key %s (policy list: %s %s %q) is not in the table under %q of %s", k, listed[k][0].phase, listed[k][0].severity, listed[k][0].title, findingKeysHeading, runbookDoc)
			continue
		}
		// | `key` | phase | severity | title; title |
		if len(row.Cells) < 3 {
			t.Errorf("%s:%d: %s: want the columns key, phase, severity, title", runbookDoc, row.Line, k)
			continue
		}
		phase, severity, titles := row.Cells[0], row.Cells[1], row.Cells[2]
		for _, r := range listed[k] {
			if r.phase != phase {
				t.Errorf("%s:%d: %s: phase %q, policy list says %q", runbookDoc, row.Line, k, phase, r.phase)
			}
			if !slices.Contains(strings.Split(severity, "; "), r.severity) {
				t.Errorf("%s:%d: %s: severity %q, policy list says %q", runbookDoc, row.Line, k, severity, r.severity)
			}
			if !strings.Contains(titles, r.title) {
				t.Errorf("%s:%d: %s: the titles %q lack %q (policy list)", runbookDoc, row.Line, k, titles, r.title)
			}
		}
	}
	var docKeys []string
	for k := range documented {
		docKeys = append(docKeys, k)
	}
	sort.Strings(docKeys)
	for _, k := range docKeys {
		if _, ok := listed[k]; !ok {
			t.Errorf("%s:%d documents finding key %s under %q, but msguard policy list does not print it (renamed or removed? keys msguard emits itself go under %q)", runbookDoc, documented[k].Line, k, findingKeysHeading, ownKeysHeading)
		}
	}
}

// TestDocsOwnKeys checks the table of the keys that msguard emits itself,
// outside the policies (the waiver findings), against their constants.
func TestDocsOwnKeys(t *testing.T) {
	documented, err := doctable.Read(runbookDoc, ownKeysHeading)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{policies.KeyWaiverExpired, policies.KeyWaiverUnknownKey}
	var got []string
	for k := range documented {
		got = append(got, k)
	}
	sort.Strings(got)
	sort.Strings(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s under %q lists %v; the code emits %v", runbookDoc, ownKeysHeading, got, want)
	}
}
