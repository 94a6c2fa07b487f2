// Package doctable reads the id tables of the project's Markdown docs
// (docs/runbook.md), so that tests can keep the docs and the code in step.
//
// The convention: a section starts at a "## " heading line and ends at the
// next "## " heading. In every table row of the section the first cell is
// exactly one backticked, dotted lower-case id; the header row (the row
// above a |---| separator) and the separator are the only rows without
// one. A row that breaks the convention, an id of another shape, an id
// listed twice, a missing or repeated heading, or a section without rows
// is an error naming the file and line.
package doctable

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strings"
)

// Row is one table row of a section: its id, the other cells (trimmed)
// and its line number.
type Row struct {
	ID    string
	Cells []string
	Line  int
}

var idRe = regexp.MustCompile(`^[a-z0-9_]+(\.[a-z0-9_]+)+$`)

// Read returns the rows of the section of path that starts at heading
// (the whole heading line, e.g. "## Step ids"), by id.
func Read(path, heading string) (map[string]Row, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
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
	rows := map[string]Row{}
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
			return nil, fmt.Errorf("%s:%d: the first cell %q of a table row under %q is not one backticked id", path, i+1, first, heading)
		}
		id := first[1 : len(first)-1]
		if !idRe.MatchString(id) {
			return nil, fmt.Errorf("%s:%d: %q is not a dotted lower-case id", path, i+1, id)
		}
		if prev, dup := rows[id]; dup {
			return nil, fmt.Errorf("%s:%d: %s is listed twice (also line %d)", path, i+1, id, prev.Line)
		}
		rows[id] = Row{ID: id, Cells: cells[1:], Line: i + 1}
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: no table row with an id under %q", path, heading)
	}
	return rows, nil
}
