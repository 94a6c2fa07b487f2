package collectors

import (
	"reflect"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
)

func TestLineDiff(t *testing.T) {
	tests := []struct {
		name     string
		old, cur string
		want     []string
		total    int
	}{
		{"same", "a\nb\n", "a\nb\n", nil, 0},
		{"added lines do not count", "a\n", "a\nb\n", nil, 0},
		{"one missing, crlf", "a\r\nsite\r\n\r\n", "a\n", []string{"site"}, 1},
		{"duplicates once, blanks skipped", "x\nx\n \t\ny", "", []string{"x", "y"}, 2},
		{"secret redacted", "LDAP_PASSWORD=hunter2\nurl=ldap://u:pw@h/\n", "", []string{"LDAP_PASSWORD=<redacted>", "url=ldap://u:<redacted>@h/"}, 2},
		{"only a secret changed", "pwd=a\n", "pwd=b\n", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, ok := LineDiff(RedactLines(SplitLines([]byte(tt.old))), RedactLines(SplitLines([]byte(tt.cur))))
			if ok != (tt.total > 0) || !reflect.DeepEqual(d.Missing, tt.want) || d.MissingTotal != tt.total {
				t.Errorf("LineDiff = %v %+v, want %q (%d)", ok, d, tt.want, tt.total)
			}
			if ok && d.State != facts.BackupLinesMissing {
				t.Errorf("state %q", d.State)
			}
		})
	}
}

func TestLineDiffBounded(t *testing.T) {
	var old []string
	for i := range facts.MaxBackupDiffLines + 7 {
		old = append(old, string(rune('A'+i%26))+string(rune('a'+i/26)))
	}
	d, ok := LineDiff(old, nil)
	if !ok || len(d.Missing) != facts.MaxBackupDiffLines || d.MissingTotal != facts.MaxBackupDiffLines+7 {
		t.Errorf("got %d lines of %d, want %d of %d", len(d.Missing), d.MissingTotal, facts.MaxBackupDiffLines, facts.MaxBackupDiffLines+7)
	}
}
