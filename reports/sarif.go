package reports

import (
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"net/url"
	"path"
	"sort"
	"strings"
	"unicode"
)

// SARIFRenderer writes the report as a SARIF 2.1.0 log with one run, for code
// scanning dashboards:
//
//   - tool.driver is msguard and its version, with one rule per key (the keys
//     of the findings and the passed keys): shortDescription = title,
//     fullDescription = description, help = remediation
//   - one result per finding: ruleId = key, message = msg; deny and error →
//     level "error", warn → "warning", info → kind "informational"; a waived
//     finding → "note" with an external suppression whose justification is
//     the waiver's reason
//   - each result points at the server root as a file:// artifact URI
//   - invocations[0] has the exit code, executionSuccessful (false only when
//     the judgement itself failed) and the facts errors as notifications
type SARIFRenderer struct{}

// sarifSchemaURI is the OASIS location of the SARIF 2.1.0 schema.
const sarifSchemaURI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

type sarifLog struct {
	Schema  string     `json:"$schema"`
	Version string     `json:"version"`
	Runs    []sarifRun `json:"runs"`
}

type sarifRun struct {
	Tool              sarifTool          `json:"tool"`
	Invocations       []sarifInvocation  `json:"invocations"`
	AutomationDetails *sarifAutomation   `json:"automationDetails,omitempty"`
	Results           []sarifResult      `json:"results"`
	Properties        map[string]any     `json:"properties,omitempty"`
	OriginalURIBases  map[string]sarifAL `json:"originalUriBaseIds,omitempty"`
}

type sarifTool struct {
	Driver sarifDriver `json:"driver"`
}

type sarifDriver struct {
	Name    string      `json:"name"`
	Version string      `json:"version,omitempty"`
	Rules   []sarifRule `json:"rules"`
}

type sarifRule struct {
	ID                   string           `json:"id"`
	Name                 string           `json:"name,omitempty"`
	ShortDescription     *sarifText       `json:"shortDescription,omitempty"`
	FullDescription      *sarifText       `json:"fullDescription,omitempty"`
	Help                 *sarifText       `json:"help,omitempty"`
	DefaultConfiguration *sarifRuleConfig `json:"defaultConfiguration,omitempty"`
}

type sarifRuleConfig struct {
	Level string `json:"level"`
}

// sarifText is a message or multiformatMessageString.
type sarifText struct {
	Text     string `json:"text"`
	Markdown string `json:"markdown,omitempty"`
}

type sarifInvocation struct {
	ExecutionSuccessful bool                `json:"executionSuccessful"`
	ExitCode            int                 `json:"exitCode"`
	StartTimeUTC        string              `json:"startTimeUtc,omitempty"`
	EndTimeUTC          string              `json:"endTimeUtc,omitempty"`
	Machine             string              `json:"machine,omitempty"`
	Notifications       []sarifNotification `json:"toolExecutionNotifications,omitempty"`
}

type sarifNotification struct {
	Descriptor sarifDescriptorRef `json:"descriptor"`
	Level      string             `json:"level"`
	Message    sarifText          `json:"message"`
}

type sarifDescriptorRef struct {
	ID string `json:"id"`
}

type sarifAutomation struct {
	ID   string `json:"id,omitempty"`
	GUID string `json:"guid,omitempty"`
}

type sarifResult struct {
	RuleID              string             `json:"ruleId"`
	RuleIndex           int                `json:"ruleIndex"`
	Kind                string             `json:"kind"`
	Level               string             `json:"level"`
	Message             sarifText          `json:"message"`
	Locations           []sarifLocation    `json:"locations,omitempty"`
	PartialFingerprints map[string]string  `json:"partialFingerprints,omitempty"`
	Suppressions        []sarifSuppression `json:"suppressions,omitempty"`
	Properties          map[string]any     `json:"properties,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation sarifPhysical `json:"physicalLocation"`
}

type sarifPhysical struct {
	ArtifactLocation sarifAL `json:"artifactLocation"`
}

// sarifAL is an artifactLocation.
type sarifAL struct {
	URI string `json:"uri"`
}

type sarifSuppression struct {
	Kind          string `json:"kind"`
	Status        string `json:"status"`
	Justification string `json:"justification,omitempty"`
}

// Render writes r as a SARIF 2.1.0 log.
func (SARIFRenderer) Render(w io.Writer, r *judgement.Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sarifDocument(r)); err != nil {
		return fmt.Errorf("write sarif report: %w", err)
	}
	return nil
}

// sarifDocument builds the SARIF log of r.
func sarifDocument(r *judgement.Report) sarifLog {
	findings := ordered(r)
	rules, index := sarifRules(r, findings)

	loc := serverRootURI(r.ServerRoot)
	results := make([]sarifResult, 0, len(findings))
	for i := range findings {
		f := &findings[i]
		res := sarifResult{
			RuleID:    f.Key,
			RuleIndex: index[f.Key],
			Kind:      "fail",
			Message:   sarifText{Text: f.Msg},
			// The host and key identify a finding across runs, so a
			// dashboard can track it while the host is being fixed.
			PartialFingerprints: map[string]string{"msguardFinding/v1": r.Host + "|" + f.Key},
			Properties:          map[string]any{"severity": f.Severity},
		}
		if res.Message.Text == "" {
			res.Message.Text = f.Title // SARIF requires a non-empty message
		}
		switch o := outcome(f); o {
		case outcomeError, outcomeDeny:
			res.Level = "error"
		case outcomeWarn:
			res.Level = "warning"
		case outcomeSkip:
			// SARIF §3.27.9: the rule was not evaluated.
			res.Kind, res.Level = "notApplicable", "none"
		case outcomeWaived:
			res.Level = "note"
			res.Suppressions = []sarifSuppression{{
				Kind: "external", Status: "accepted", Justification: f.Waived.Reason,
			}}
			res.Properties["approver"] = f.Waived.Approver
			res.Properties["expires"] = f.Waived.Expires
		default:
			// SARIF §3.27.9: a result that is not a failure has level none.
			res.Kind, res.Level = "informational", "none"
		}
		if f.Actual != "" {
			res.Properties["actual"] = f.Actual
		}
		if f.Expected != "" {
			res.Properties["expected"] = f.Expected
		}
		if loc != "" {
			res.Locations = []sarifLocation{{PhysicalLocation: sarifPhysical{ArtifactLocation: sarifAL{URI: loc}}}}
		}
		results = append(results, res)
	}

	inv := sarifInvocation{
		ExitCode:            r.ExitCode,
		ExecutionSuccessful: executionSuccessful(r),
		Machine:             r.Host,
	}
	if !r.StartedAt.IsZero() {
		inv.StartTimeUTC = r.StartedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	if !r.FinishedAt.IsZero() {
		inv.EndTimeUTC = r.FinishedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	for _, fe := range r.FactsErrors {
		inv.Notifications = append(inv.Notifications, sarifNotification{
			Descriptor: sarifDescriptorRef{ID: "facts." + fe.Collector},
			Level:      "error",
			Message:    sarifText{Text: fe.Collector + ": " + fe.Error},
		})
	}

	run := sarifRun{
		Tool:        sarifTool{Driver: sarifDriver{Name: "msguard", Version: r.Tool.Version, Rules: rules}},
		Invocations: []sarifInvocation{inv},
		Results:     results,
		Properties: map[string]any{
			"host": r.Host, "serverRoot": r.ServerRoot, "phase": r.Phase, "verdict": r.Verdict,
		},
	}
	if r.Rehearsal != nil {
		run.Properties["rehearsal"] = rehearsalProperties(r.Rehearsal)
	}
	if r.MailFlow != nil {
		run.Properties["mailflow"] = r.MailFlow
	}
	if r.Phase != "" || r.RunID != "" {
		// automationDetails.id is "category/instance": runs of one phase
		// form one category.
		run.AutomationDetails = &sarifAutomation{ID: "msguard/" + r.Phase + "/" + r.RunID}
	}
	if loc != "" {
		run.OriginalURIBases = map[string]sarifAL{"SERVER_ROOT": {URI: loc}}
	}
	return sarifLog{Schema: sarifSchemaURI, Version: "2.1.0", Runs: []sarifRun{run}}
}

// sarifRules returns one rule per key, sorted by key, and each key's index.
// A key that fired takes its title, description and remediation from its
// first finding; a passed key has only its id.
func sarifRules(r *judgement.Report, findings []judgement.Finding) ([]sarifRule, map[string]int) {
	byKey := map[string]*judgement.Finding{}
	for i := range findings {
		if _, ok := byKey[findings[i].Key]; !ok {
			byKey[findings[i].Key] = &findings[i]
		}
	}
	keys := make([]string, 0, len(byKey)+len(r.Passed))
	for k := range byKey {
		keys = append(keys, k)
	}
	for _, k := range r.Passed {
		if _, ok := byKey[k]; !ok {
			byKey[k] = nil
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	rules := make([]sarifRule, 0, len(keys))
	index := make(map[string]int, len(keys))
	for i, k := range keys {
		index[k] = i
		rule := sarifRule{ID: k, Name: ruleName(k)}
		if f := byKey[k]; f != nil {
			if f.Title != "" {
				rule.ShortDescription = &sarifText{Text: f.Title}
			}
			if f.Description != "" {
				rule.FullDescription = &sarifText{Text: f.Description}
			}
			if h := sarifHelp(f); h != nil {
				rule.Help = h
			}
			rule.DefaultConfiguration = &sarifRuleConfig{Level: sarifLevel(f.Severity)}
		}
		rules = append(rules, rule)
	}
	return rules, index
}

// ruleName is the friendly name SARIF viewers show for a key: the key in
// Pascal case, "preflight.ds.unreachable" → "PreflightDsUnreachable".
func ruleName(key string) string {
	var b strings.Builder
	up := true
	for _, c := range key {
		if !unicode.IsLetter(c) && !unicode.IsDigit(c) {
			up = true
			continue
		}
		if up {
			c = unicode.ToUpper(c)
			up = false
		}
		b.WriteRune(c)
	}
	return b.String()
}

// sarifHelp renders the remediation of f as text and markdown, or nil.
func sarifHelp(f *judgement.Finding) *sarifText {
	if len(f.Remediation) == 0 {
		return nil
	}
	var text, md []string
	for _, rm := range f.Remediation {
		text = append(text, remediationLine(rm))
		if rm.Type == "command" {
			md = append(md, "- "+mdCode(rm.Text))
		} else {
			md = append(md, "- "+mdEscape(rm.Text))
		}
	}
	return &sarifText{Text: strings.Join(text, "\n"), Markdown: strings.Join(md, "\n")}
}

// sarifLevel is the default level of a rule of a severity.
func sarifLevel(sev string) string {
	switch sev {
	case judgement.SeverityWarn:
		return "warning"
	case judgement.SeverityInfo:
		return "note"
	default:
		return "error"
	}
}

// executionSuccessful is false when the judgement failed: an error verdict
// or an exit code that means a runtime or usage error. Findings, even
// denies, are a successful execution.
func executionSuccessful(r *judgement.Report) bool {
	if r.Verdict == judgement.VerdictError {
		return false
	}
	switch r.ExitCode {
	case 0, 3, 4:
		return true
	default:
		return false
	}
}

// serverRootURI is the server root as a file:// URI of a directory (with a
// trailing slash), or "" when the report has none.
func serverRootURI(root string) string {
	if root == "" {
		return ""
	}
	p := path.Clean("/" + strings.ReplaceAll(root, "\\", "/"))
	if !strings.HasSuffix(p, "/") {
		p += "/"
	}
	u := url.URL{Scheme: "file", Path: p}
	return u.String()
}
