package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
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

var docKeyRe = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)

// docRow is one row of a documented key table: the backticked id of the
// first cell, the other cells, and the row's line.
type docRow struct {
	id    string
	cells []string
	line  int
}

// docTable reads the table rows of the section of a Markdown file that
// starts at the line heading (a "## " heading) and ends at the next "## "
// heading. In every table row of the section the first cell is exactly one
// backticked id; the header row (the row above a |---| separator) and the
// separator are the only rows without one. A row that breaks the
// convention, an id of the wrong shape or an id listed twice is an error
// naming the line.
func docTable(path, heading string) (map[string]docRow, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	start := -1
	for i, l := range lines {
		if strings.TrimSpace(l) == heading {
			if start >= 0 {
				return nil, fmt.Errorf("%s: heading %q appears twice (lines %d and %d)", path, heading, start+1, i+1)
			}
			start = i
		}
	}
	if start < 0 {
		return nil, fmt.Errorf("%s: no heading %q", path, heading)
	}
	isSep := func(l string) bool {
		l = strings.TrimSpace(l)
		return strings.HasPrefix(l, "|") && strings.Trim(l, "|-: ") == ""
	}
	rows := map[string]docRow{}
	for i := start + 1; i < len(lines); i++ {
		l := strings.TrimSpace(lines[i])
		if strings.HasPrefix(l, "## ") {
			break
		}
		if !strings.HasPrefix(l, "|") || isSep(l) {
			continue
		}
		if i+1 < len(lines) && isSep(lines[i+1]) {
			continue // header row
		}
		cells := strings.Split(strings.Trim(l, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		first := cells[0]
		if len(first) < 3 || first[0] != '`' || first[len(first)-1] != '`' || strings.Count(first, "`") != 2 {
			return nil, fmt.Errorf("%s:%d: the first cell %q of a table row under %q is not one backticked key", path, i+1, first, heading)
		}
		id := first[1 : len(first)-1]
		if !docKeyRe.MatchString(id) {
			return nil, fmt.Errorf("%s:%d: %q is not a dotted lower-case key", path, i+1, id)
		}
		if prev, dup := rows[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice (also line %d): list a key once, its titles joined", path, i+1, id, prev.line)
		}
		rows[id] = docRow{id: id, cells: cells[1:], line: i + 1}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no table row with a key under %q", path, heading)
	}
	return rows, nil
}

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
	documented, err := docTable(runbookDoc, findingKeysHeading)
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
		if len(row.cells) < 3 {
			t.Errorf("%s:%d: %s: want the columns key, phase, severity, title", runbookDoc, row.line, k)
			continue
		}
		phase, severity, titles := row.cells[0], row.cells[1], row.cells[2]
		for _, r := range listed[k] {
			if r.phase != phase {
				t.Errorf("%s:%d: %s: phase %q, policy list says %q", runbookDoc, row.line, k, phase, r.phase)
			}
			if r.severity != severity {
				t.Errorf("%s:%d: %s: severity %q, policy list says %q", runbookDoc, row.line, k, severity, r.severity)
			}
			if !strings.Contains(titles, r.title) {
				t.Errorf("%s:%d: %s: the titles %q lack %q (policy list)", runbookDoc, row.line, k, titles, r.title)
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
			t.Errorf("%s:%d documents finding key %s under %q, but msguard policy list does not print it (renamed or removed? keys msguard emits itself go under %q)", runbookDoc, documented[k].line, k, findingKeysHeading, ownKeysHeading)
		}
	}
}

// TestDocsOwnKeys checks the table of the keys that msguard emits itself,
// outside the policies (the waiver findings), against their constants.
func TestDocsOwnKeys(t *testing.T) {
	documented, err := docTable(runbookDoc, ownKeysHeading)
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
