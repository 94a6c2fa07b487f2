package policies

import (
	"github.com/msguard/msguard/judgement"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/internal/exitcode"
)

// The seed corpus is in testdata/fuzz/FuzzParseWaivers; run the target
// with `go test -run '^$' -fuzz FuzzParseWaivers ./policies`.

// FuzzParseWaivers checks that ParseWaivers never panics, that what it
// refuses is a usage error (exit 2) naming the file, and that every waiver
// it accepts has its four fields and a valid date, and can be applied.
func FuzzParseWaivers(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ws, err := ParseWaivers("fuzz.yaml", data)
		if err != nil {
			if exitcode.Of(err) != exitcode.Usage || !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %v (exit %d); want a usage error naming the file", err, exitcode.Of(err))
			}
			if ws != nil {
				t.Fatalf("error %v with %d waivers", err, len(ws))
			}
			return
		}
		known := map[string]bool{}
		var findings []judgement.Finding
		for _, w := range ws {
			for name, v := range map[string]string{"key": w.Key, "reason": w.Reason, "approver": w.Approver, "expires": w.Expires} {
				if strings.TrimSpace(v) == "" {
					t.Fatalf("accepted waiver %+v has no %s", w, name)
				}
			}
			if _, err := time.Parse("2006-01-02", w.Expires); err != nil {
				t.Fatalf("accepted waiver %+v: expires: %v", w, err)
			}
			if w.Line <= 0 {
				t.Fatalf("accepted waiver %+v has no line", w)
			}
			known[w.Key] = true
			findings = append(findings, judgement.Finding{Key: w.Key, Severity: judgement.SeverityDeny})
		}
		out := ApplyWaivers(findings, ws, known, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC))
		if len(out) < len(findings) {
			t.Fatalf("ApplyWaivers returned %d findings for %d", len(out), len(findings))
		}
	})
}
