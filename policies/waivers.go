package policies

import (
	"bytes"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"os"
	"strings"
	"time"

	"github.com/msguard/msguard/internal/exitcode"
	"gopkg.in/yaml.v3"
)

// Waiver accepts the findings of one key, with a reason, an approver and
// an expiry date (contract.md "Waivers").
type Waiver struct {
	Key      string `yaml:"key"`
	Reason   string `yaml:"reason"`
	Approver string `yaml:"approver"`
	Expires  string `yaml:"expires"` // YYYY-MM-DD, inclusive
	// Line is the waiver's line in its file, for messages.
	Line int `yaml:"-"`
}

// Waiver keys of the findings that waivers themselves produce.
const (
	KeyWaiverExpired    = "waiver.expired"
	KeyWaiverUnknownKey = "waiver.unknown_key"
)

// LoadWaivers reads a waiver file. Every field is required; a missing or
// malformed one is a usage error (exit 2) naming the file, line and field.
func LoadWaivers(path string) ([]Waiver, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, exitcode.Usagef("waivers %s: %v", path, unwrap(err))
	}
	return ParseWaivers(path, b)
}

// ParseWaivers parses waiver YAML; name is used in messages.
func ParseWaivers(name string, b []byte) ([]Waiver, error) {
	var doc struct {
		Waivers []yaml.Node `yaml:"waivers"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		return nil, exitcode.Usagef("waivers %s: %v", name, err)
	}
	var out []Waiver
	for _, n := range doc.Waivers {
		var w Waiver
		if err := n.Decode(&w); err != nil {
			return nil, exitcode.Usagef("waivers %s:%d: %v", name, n.Line, err)
		}
		w.Line = n.Line
		var missing []string
		for _, f := range []struct{ name, v string }{{"key", w.Key}, {"reason", w.Reason}, {"approver", w.Approver}, {"expires", w.Expires}} {
			if strings.TrimSpace(f.v) == "" {
				missing = append(missing, f.name)
			}
		}
		if len(missing) > 0 {
			return nil, exitcode.Usagef("waivers %s:%d: waiver for %q has no %s: every waiver needs key, reason, approver and expires", name, w.Line, w.Key, strings.Join(missing, ", "))
		}
		if _, err := time.Parse("2006-01-02", w.Expires); err != nil {
			return nil, exitcode.Usagef("waivers %s:%d: expires %q is not a date YYYY-MM-DD", name, w.Line, w.Expires)
		}
		out = append(out, w)
	}
	return out, nil
}

// expired reports whether the waiver no longer applies on day now.
func (w Waiver) expired(now time.Time) bool {
	exp, _ := time.Parse("2006-01-02", w.Expires)
	return now.UTC().Format("2006-01-02") > exp.Format("2006-01-02")
}

// ApplyWaivers marks findings of waived keys (deny, warn, error alike) and
// returns warnings for waivers that expired or name a key no policy emits.
func ApplyWaivers(findings []judgement.Finding, waivers []Waiver, known map[string]bool, now time.Time) []judgement.Finding {
	active := map[string]Waiver{}
	var extra []judgement.Finding
	for _, w := range waivers {
		switch {
		case !known[w.Key]:
			extra = append(extra, judgement.Finding{
				Key: KeyWaiverUnknownKey, Severity: judgement.SeverityWarn, Title: "Waiver names an unknown key",
				Msg:         fmt.Sprintf("waiver (line %d) for %q: no policy emits this key", w.Line, w.Key),
				Remediation: []judgement.Remediation{{Type: "command", Text: "msguard policy list"}},
			})
		case w.expired(now):
			extra = append(extra, judgement.Finding{
				Key: KeyWaiverExpired, Severity: judgement.SeverityWarn, Title: "Waiver expired",
				Msg: fmt.Sprintf("waiver (line %d) for %s approved by %s expired on %s: %s", w.Line, w.Key, w.Approver, w.Expires, w.Reason),
			})
		default:
			active[w.Key] = w
		}
	}
	out := make([]judgement.Finding, 0, len(findings)+len(extra))
	for _, f := range findings {
		if w, ok := active[f.Key]; ok {
			f.Waived = &judgement.Waived{Reason: w.Reason, Approver: w.Approver, Expires: w.Expires}
		}
		out = append(out, f)
	}
	return append(out, extra...)
}
