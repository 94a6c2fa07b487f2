package parse

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// The seed corpora are in testdata/fuzz/<FuzzName>/; run one target with
// `go test -fuzz=FuzzINF ./collectors/parse`.

// FuzzINF checks that INF never panics and that whatever it accepts
// survives a write-and-reparse round trip.
func FuzzINF(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string) {
		got, err := INF(strings.NewReader(data))
		if err != nil {
			return
		}
		var b strings.Builder
		b.WriteString("# round trip\n")
		for _, sec := range sortedKeys(got) {
			fmt.Fprintf(&b, "[%s]\n", sec)
			for _, k := range sortedKeys(got[sec]) {
				fmt.Fprintf(&b, "%s= %s\n", k, got[sec][k])
			}
		}
		again, err := INF(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip changed %q into %q", got, again)
		}
	})
}

// FuzzMsgConf checks that MsgConf never panics and that its values
// survive being written back quoted.
func FuzzMsgConf(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string) {
		got, err := MsgConf(strings.NewReader(data))
		if err != nil {
			return
		}
		var b strings.Builder
		for _, k := range sortedKeys(got) {
			fmt.Fprintf(&b, "%s = %s\n", k, strconv.Quote(got[k]))
		}
		again, err := MsgConf(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("reparse of %q: %v", b.String(), err)
		}
		if !reflect.DeepEqual(got, again) {
			t.Fatalf("round trip changed %q into %q", got, again)
		}
	})
}

// FuzzConfigFiles runs the other configuration parsers on arbitrary input
// and checks the shape of what they return.
func FuzzConfigFiles(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string) {
		if m, err := KeyColonValue(strings.NewReader(data)); err == nil {
			for k := range m {
				if k == "" || strings.Contains(k, ":") {
					t.Fatalf("KeyColonValue key %q", k)
				}
			}
		}
		m, err := Magnus(strings.NewReader(data))
		if err != nil {
			t.Fatalf("Magnus: %v", err)
		}
		for k := range m {
			if k == "" || strings.IndexFunc(k, unicode.IsSpace) >= 0 {
				t.Fatalf("Magnus directive %q", k)
			}
		}
		if _, err := Properties(strings.NewReader(data)); err != nil {
			t.Fatalf("Properties: %v", err)
		}
		if d, err := Dispatcher(strings.NewReader(data)); err == nil {
			for _, sec := range d {
				for k := range sec {
					if k == "" || k != strings.ToUpper(k) {
						t.Fatalf("Dispatcher key %q", k)
					}
				}
			}
		}
		chans, err := IMTAChannels(strings.NewReader(data))
		if err != nil {
			t.Fatalf("IMTAChannels: %v", err)
		}
		seen := map[string]bool{}
		for _, c := range chans {
			if c == "" || strings.ContainsAny(c, " \t\r\n") || seen[c] || strings.EqualFold(c, "defaults") {
				t.Fatalf("IMTAChannels channel %q in %q", c, chans)
			}
			seen[c] = true
		}
	})
}

// FuzzMailLogLine checks that every field of an accepted record is taken
// from the line and has the shape of its kind.
func FuzzMailLogLine(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		r, ok := MailLogLine(line)
		if !ok {
			return
		}
		for _, fld := range []string{r.Source, r.Code, r.From, r.OrigTo, r.ActiveTo} {
			if fld == "" || strings.ContainsAny(fld, " \t") || !strings.Contains(line, fld) {
				t.Fatalf("field %q of %q", fld, line)
			}
		}
		if !isEntryCode(r.Code) || r.Size < 0 {
			t.Fatalf("code %q size %d of %q", r.Code, r.Size, line)
		}
		if r.Diagnostic != strings.TrimSpace(r.Diagnostic) || !strings.Contains(line, r.Diagnostic) {
			t.Fatalf("diagnostic %q of %q", r.Diagnostic, line)
		}
	})
}

// FuzzVersions checks the banner parsers on arbitrary strings and that
// CompareVersions is reflexive and antisymmetric.
func FuzzVersions(f *testing.F) {
	f.Fuzz(func(t *testing.T, a, b string) {
		for _, s := range []string{a, b} {
			if v, ok := MsgBanner(s); ok && (!strings.Contains(s, v.Version) || strings.Trim(v.Version, "0123456789.") != "") {
				t.Fatalf("MsgBanner(%q) version %q", s, v.Version)
			}
			if v, ok := DSVersionLine(s); ok && !strings.Contains(s, v.Vendor+"-Directory/"+v.Version) {
				t.Fatalf("DSVersionLine(%q) = %+v", s, v)
			}
			if v, ok := WebServerBanner(s); ok && !strings.Contains(s, v.Product+"/") {
				t.Fatalf("WebServerBanner(%q) = %+v", s, v)
			}
		}
		if c := CompareVersions(a, a); c != 0 {
			t.Fatalf("CompareVersions(%q, itself) = %d", a, c)
		}
		if ab, ba := CompareVersions(a, b), CompareVersions(b, a); ab != -ba || ab < -1 || ab > 1 {
			t.Fatalf("CompareVersions(%q, %q) = %d but reversed = %d", a, b, ab, ba)
		}
	})
}

// FuzzQueueFileName checks that an accepted message file name is exactly
// its parts put back together.
func FuzzQueueFileName(f *testing.F) {
	f.Fuzz(func(t *testing.T, name string) {
		q, ok := QueueFileName(name)
		if !ok {
			return
		}
		if q.Temp {
			if name[0] != '$' {
				t.Fatalf("%q is not a temporary file", name)
			}
			return
		}
		if got := q.Retry + q.ID + "." + q.Type; got != name || len(q.Retry) != 2 || q.ID == "" {
			t.Fatalf("QueueFileName(%q) = %+v", name, q)
		}
		if q.Held != strings.EqualFold(q.Type, "HELD") {
			t.Fatalf("QueueFileName(%q).Held = %v", name, q.Held)
		}
	})
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
