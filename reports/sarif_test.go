package reports

import (
	"bytes"
	"encoding/json"
	"github.com/msguard/msguard/judgement"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// sarifSchemaFile is the SARIF 2.1.0 JSON schema, vendored from the
// sarif-2.1.0.json that Microsoft's SARIF SDK ships in the npm package
// @microsoft/sarif-multitool-linux 5.7.0 (see testdata/README.md).
var sarifSchemaFile = filepath.Join("testdata", "sarif-schema-2.1.0.json")

// sarifSchema compiles the vendored SARIF schema, with formats (uri,
// date-time) asserted.
func sarifSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(sarifSchemaFile)
	if err != nil {
		t.Fatalf("open sarif schema: %v", err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("parse sarif schema: %v", err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const loc = "file:///sarif-schema-2.1.0.json"
	if err := c.AddResource(loc, doc); err != nil {
		t.Fatalf("add sarif schema: %v", err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		t.Fatalf("compile sarif schema: %v", err)
	}
	return sch
}

// validateSARIF validates a SARIF document against the schema.
func validateSARIF(sch *jsonschema.Schema, doc []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

func TestSARIFSchema(t *testing.T) {
	sch := sarifSchema(t)
	reports := map[string]*judgement.Report{
		"preflight_not_ready": loadFixture(t, "preflight_not_ready"),
		"postflight_healthy":  loadFixture(t, "postflight_healthy"),
		"empty":               emptyReport(),
		"escape":              escapeReport(),
		"mixed":               mixedPhaseReport(),
	}
	for name, r := range reports {
		t.Run(name, func(t *testing.T) {
			out := render(t, "sarif", r)
			if err := validateSARIF(sch, out); err != nil {
				t.Errorf("sarif of %s is not valid SARIF 2.1.0: %v", name, err)
			}
		})
	}
}

// TestSARIFSchemaRejects proves the validator is not vacuous: documents
// broken in ways the renderer must avoid are rejected.
func TestSARIFSchemaRejects(t *testing.T) {
	sch := sarifSchema(t)
	good := render(t, "sarif", loadFixture(t, "preflight_not_ready"))
	tests := []struct {
		name string
		edit func(doc map[string]any)
	}{
		{"bad level", func(doc map[string]any) { result(doc, 0)["level"] = "fatal" }},
		{"bad version", func(doc map[string]any) { doc["version"] = "2.0.0" }},
		{"unknown property", func(doc map[string]any) { result(doc, 0)["severity"] = "deny" }},
		{"suppression without kind", func(doc map[string]any) {
			for i := 0; ; i++ {
				if s, ok := result(doc, i)["suppressions"].([]any); ok {
					delete(s[0].(map[string]any), "kind")
					return
				}
			}
		}},
		{"no driver name", func(doc map[string]any) {
			delete(run(doc)["tool"].(map[string]any)["driver"].(map[string]any), "name")
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(good, &doc); err != nil {
				t.Fatal(err)
			}
			tc.edit(doc)
			bad, err := json.Marshal(doc)
			if err != nil {
				t.Fatal(err)
			}
			if err := validateSARIF(sch, bad); err == nil {
				t.Errorf("schema accepted a document with %s", tc.name)
			}
		})
	}
}

func run(doc map[string]any) map[string]any {
	return doc["runs"].([]any)[0].(map[string]any)
}

func result(doc map[string]any, i int) map[string]any {
	return run(doc)["results"].([]any)[i].(map[string]any)
}

// sarifDoc is the part of a SARIF log the tests look at.
type sarifDoc struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name    string `json:"name"`
				Version string `json:"version"`
				Rules   []struct {
					ID               string     `json:"id"`
					ShortDescription *sarifText `json:"shortDescription"`
					FullDescription  *sarifText `json:"fullDescription"`
					Help             *sarifText `json:"help"`
				} `json:"rules"`
			} `json:"driver"`
		} `json:"tool"`
		Invocations []struct {
			ExitCode            int  `json:"exitCode"`
			ExecutionSuccessful bool `json:"executionSuccessful"`
			Notifications       []struct {
				Message sarifText `json:"message"`
			} `json:"toolExecutionNotifications"`
		} `json:"invocations"`
		Results []struct {
			RuleID       string          `json:"ruleId"`
			RuleIndex    int             `json:"ruleIndex"`
			Kind         string          `json:"kind"`
			Level        string          `json:"level"`
			Message      sarifText       `json:"message"`
			Locations    []sarifLocation `json:"locations"`
			Suppressions []struct {
				Kind          string `json:"kind"`
				Justification string `json:"justification"`
			} `json:"suppressions"`
		} `json:"results"`
	} `json:"runs"`
}

func decodeSARIF(t *testing.T, out []byte) sarifDoc {
	t.Helper()
	var doc sarifDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatalf("decode sarif: %v", err)
	}
	if len(doc.Runs) != 1 {
		t.Fatalf("sarif has %d runs; want 1", len(doc.Runs))
	}
	return doc
}

func TestSARIFMapping(t *testing.T) {
	r := loadFixture(t, "preflight_not_ready")
	doc := decodeSARIF(t, render(t, "sarif", r))
	run := doc.Runs[0]
	if doc.Version != "2.1.0" || run.Tool.Driver.Name != "msguard" || run.Tool.Driver.Version != "0.9.0" {
		t.Errorf("version %q driver %q %q; want 2.1.0 msguard 0.9.0", doc.Version, run.Tool.Driver.Name, run.Tool.Driver.Version)
	}

	// One rule per key: the 6 that fired and the 11 that passed.
	if got, want := len(run.Tool.Driver.Rules), len(r.Findings)+len(r.Passed); got != want {
		t.Errorf("%d rules; want %d", got, want)
	}
	rules := map[string]int{}
	for i, rule := range run.Tool.Driver.Rules {
		rules[rule.ID] = i
	}
	for _, k := range r.Passed {
		if _, ok := rules[k]; !ok {
			t.Errorf("no rule for passed key %s", k)
		}
	}
	ds := run.Tool.Driver.Rules[rules["preflight.ds.unreachable"]]
	if ds.ShortDescription == nil || ds.ShortDescription.Text != "Directory Server unreachable" ||
		ds.FullDescription == nil || !strings.HasPrefix(ds.FullDescription.Text, "The installer and ims_dssetup") ||
		ds.Help == nil || ds.Help.Text != "start the Directory Server and check the bind DN and password\n$ /usr/iplanet/server5/slapd-ds/start-slapd" {
		t.Errorf("rule preflight.ds.unreachable = %+v", ds)
	}

	if len(run.Invocations) != 1 || run.Invocations[0].ExitCode != 3 || !run.Invocations[0].ExecutionSuccessful {
		t.Errorf("invocations = %+v; want one with exitCode 3, executionSuccessful", run.Invocations)
	}
	if n := len(run.Invocations[0].Notifications); n != 2 {
		t.Errorf("%d notifications; want the 2 facts errors", n)
	}

	want := map[string]struct{ kind, level, suppression string }{
		"preflight.ds.unreachable":       {"fail", "error", ""},
		"preflight.disk.backup_space":    {"fail", "error", ""},
		"preflight.ds.version_unknown":   {"fail", "error", ""},
		"preflight.queue.backlog":        {"fail", "warning", ""},
		"preflight.host.mismatch":        {"fail", "note", "host renamed in 2024; mail-old.siroe.com is a DNS alias of this host"},
		"preflight.msg.version_detected": {"informational", "none", ""},
	}
	if len(run.Results) != len(want) {
		t.Fatalf("%d results; want %d", len(run.Results), len(want))
	}
	for _, res := range run.Results {
		w, ok := want[res.RuleID]
		if !ok {
			t.Errorf("unexpected result %s", res.RuleID)
			continue
		}
		if res.Kind != w.kind || res.Level != w.level {
			t.Errorf("%s kind/level = %s/%s; want %s/%s", res.RuleID, res.Kind, res.Level, w.kind, w.level)
		}
		if run.Tool.Driver.Rules[res.RuleIndex].ID != res.RuleID {
			t.Errorf("%s ruleIndex %d points at rule %s", res.RuleID, res.RuleIndex, run.Tool.Driver.Rules[res.RuleIndex].ID)
		}
		switch {
		case w.suppression == "" && len(res.Suppressions) != 0:
			t.Errorf("%s is suppressed: %+v", res.RuleID, res.Suppressions)
		case w.suppression != "" && (len(res.Suppressions) != 1 || res.Suppressions[0].Kind != "external" || res.Suppressions[0].Justification != w.suppression):
			t.Errorf("%s suppressions = %+v; want one external with the waiver reason", res.RuleID, res.Suppressions)
		}
		if len(res.Locations) != 1 || res.Locations[0].PhysicalLocation.ArtifactLocation.URI != "file:///usr/iplanet/server5/" {
			t.Errorf("%s locations = %+v; want the server root", res.RuleID, res.Locations)
		}
		if res.Message.Text == "" {
			t.Errorf("%s has an empty message", res.RuleID)
		}
	}
}

func TestRuleName(t *testing.T) {
	tests := []struct{ key, want string }{
		{"preflight.ds.unreachable", "PreflightDsUnreachable"},
		{"preflight.server_root.invalid", "PreflightServerRootInvalid"},
		{"audit.baseline.users", "AuditBaselineUsers"},
		{"expired-waiver", "ExpiredWaiver"},
	}
	for _, tc := range tests {
		if got := ruleName(tc.key); got != tc.want {
			t.Errorf("ruleName(%q) = %q; want %q", tc.key, got, tc.want)
		}
	}
}

func TestSARIFExecutionSuccessful(t *testing.T) {
	tests := []struct {
		verdict string
		exit    int
		want    bool
	}{
		{judgement.VerdictReady, 0, true},
		{judgement.VerdictNotReady, 3, true},
		{judgement.VerdictHealthy, 4, true},
		{judgement.VerdictError, 1, false},
		{judgement.VerdictError, 2, false},
		{judgement.VerdictNotReady, 130, false},
	}
	for _, tc := range tests {
		r := emptyReport()
		r.Verdict, r.ExitCode = tc.verdict, tc.exit
		inv := decodeSARIF(t, render(t, "sarif", r)).Runs[0].Invocations[0]
		if inv.ExitCode != tc.exit || inv.ExecutionSuccessful != tc.want {
			t.Errorf("verdict %s exit %d: invocation exitCode %d executionSuccessful %v; want %d %v",
				tc.verdict, tc.exit, inv.ExitCode, inv.ExecutionSuccessful, tc.exit, tc.want)
		}
	}
}
