package reports

import (
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"

	"github.com/msguard/msguard/collectors/facts"
)

// JSONRenderer writes the report as the msguard.report/v1 document of the
// contract (judgement.Report.Encode). Empty findings and facts errors are written
// as [] rather than null, so scripts can iterate them without a check.
type JSONRenderer struct{}

// Render writes r as indented JSON.
func (JSONRenderer) Render(w io.Writer, r *judgement.Report) error {
	out := *r // shallow copy: r is not modified
	if out.Findings == nil {
		out.Findings = []judgement.Finding{}
	}
	if out.FactsErrors == nil {
		out.FactsErrors = []facts.FactsError{}
	}
	if err := out.Encode(w); err != nil {
		return fmt.Errorf("write json report: %w", err)
	}
	return nil
}
