package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/reports"
)

// TestRefusal: a remediate run refused by its preflight gate prints the
// gate's line and its report (the same text renderer remediate uses); the
// bench keeps the gate line and each deny and error with its key and
// message, and nothing from a run no gate refused.
func TestRefusal(t *testing.T) {
	rep := &judgement.Report{Phase: "preflight", Verdict: "not_ready", ServerRoot: "/srv/server5", Findings: []judgement.Finding{
		{Key: "preflight.disk.backup_space", Severity: "deny", Title: "Not enough free space for the backups",
			Msg: "/srv has 10 bytes free; the backups need 20 and a backout's restore 5 more"},
		{Key: "preflight.ldap.unreadable", Severity: "error", Title: "The directory could not be read", Msg: "connection refused"},
		{Key: "preflight.queue.backlog", Severity: "warn", Title: "Messages are queued", Msg: "1000000 messages queued"},
	}}
	var text bytes.Buffer
	if err := reports.NewText(false).Render(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, out     string
		want, notWant []string
	}{
		{"refused", "  gate preflight: not_ready (1 deny, 1 warn, 1 error, 0 waived)\n" + text.String() + "remediate: preflight check: 1 deny\n",
			[]string{"gate preflight: not_ready", "preflight.disk.backup_space", "the backups need 20 and a backout's restore 5 more",
				"preflight.ldap.unreadable", "connection refused"},
			[]string{"preflight.queue.backlog", "remediate: preflight check"}},
		{"not refused", "  gate preflight: ready (0 deny, 1 warn, 0 error, 0 waived)\n  >  stop.msg\n", nil, []string{"gate"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := refusal(tc.out)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("refusal lacks %q:\n%s", w, got)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(got, w) {
					t.Errorf("refusal holds %q:\n%s", w, got)
				}
			}
			if tc.want == nil && got != "" {
				t.Errorf("refusal of a run no gate refused = %q", got)
			}
		})
	}
}
