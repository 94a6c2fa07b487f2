package reports

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The mail-flow probe in every format, from a saved audit report whose
// IMAP leg failed: golden files, and the HTML's one line per leg.
func TestMailFlowGolden(t *testing.T) {
	r := loadFixture(t, "audit_mailflow")
	for _, format := range Formats() {
		file := "audit_mailflow." + format
		t.Run(file, func(t *testing.T) {
			got := render(t, format, r)
			path := filepath.Join("testdata", "golden", file)
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("read golden: %v (run go test ./reports -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the golden file\n%s", file, firstDiff(got, want))
			}
			if !strings.Contains(string(got), "msguard-probe-5f0c2a9e41d7b3c8a6e2f019") {
				t.Errorf("%s does not show the probe", file)
			}
		})
	}
}

func TestMailFlowHTMLLinePerLeg(t *testing.T) {
	html := string(render(t, "html", loadFixture(t, "audit_mailflow")))
	for _, want := range []string{
		`<tr class="ok"><td>submit</td><td>ok</td><td>14ms</td><td>127.0.0.1:25</td>`,
		`<tr class="ok"><td>delivery</td><td>ok</td><td>1.25s</td>`,
		`<tr class="failed"><td>imap</td><td>failed</td><td>6ms</td><td>127.0.0.1:143</td><td>LOGIN as probe failed; [UNAVAILABLE] directory lookup failed for probe</td></tr>`,
		`<tr class="ok"><td>pop3</td><td>ok</td><td>10ms</td>`,
		`<tr class="ok"><td>cleanup</td><td>clean</td>`,
	} {
		if !strings.Contains(html, want) {
			t.Errorf("the HTML report lacks %s", want)
		}
	}
	text := string(render(t, "text", loadFixture(t, "audit_mailflow")))
	if !strings.Contains(text, "SKIPPED (not checked) (1)") || !strings.Contains(text, ", 1 skipped") {
		t.Errorf("the text report does not show the skip:\n%s", text)
	}
}
