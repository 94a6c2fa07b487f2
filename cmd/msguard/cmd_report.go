package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"os"
	"strings"

	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/reports"
	"github.com/spf13/cobra"
)

func (a *app) reportCmd() *cobra.Command {
	var from, extra []string
	var format, output string
	cmd := &cobra.Command{
		Use:   "report --from report.json [--from report.json]... --format FORMAT [-o FILE]",
		Short: "Re-render saved JSON reports in another format, or merge several hosts' reports",
		Long: `report reads a report saved with --format json (or --report json=FILE) and renders
it again, in any format, without touching the host. It exits with the saved
report's exit code, so a pipeline can gate on a re-rendered report too.

With several --from (or a fleet document written by an earlier merge), the reports
are merged into one fleet view: one table with a row per host and phase (verdict,
deny/warn/error/waived counts, top findings), one JUnit file with a testsuite per
host and phase (testcase = key, classname = host), one SARIF log with a run per
report, or a msguard.fleet/v1 JSON document that carries every report whole. The
exit code is the worst of the inputs: 3 if any is not ready or unhealthy, else 4
if any exited 4 (its run's --fail-on-warn), else 0.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(from) == 0 {
				return exitcode.Usagef("--from is required: a report saved with --format json")
			}
			outs, err := parseReportFlags(judgeFlags{format: format, output: output, reports: extra})
			if err != nil {
				return err
			}
			var all []*judgement.Report
			fleet := len(from) > 1
			for _, path := range from {
				rs, isFleet, err := readSavedReport(path)
				if err != nil {
					return err
				}
				fleet = fleet || isFleet
				all = append(all, rs...)
			}
			if !fleet {
				return a.writeReports(all[0], outs)
			}
			return a.writeFleet(reports.Merge(all...), outs)
		},
	}
	cmd.Flags().StringArrayVar(&from, "from", nil, "saved JSON report (msguard.report/v1 or msguard.fleet/v1); repeat to merge hosts")
	cmd.Flags().StringVar(&format, "format", "text", "output format: "+strings.Join(reports.Formats(), ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to FILE (- = stdout)")
	cmd.Flags().StringArrayVar(&extra, "report", nil, "also write FORMAT=FILE (repeatable), e.g. --report junit=fleet.xml")
	return cmd
}

// readSavedReport reads one --from file: a msguard.report/v1 document, or a
// msguard.fleet/v1 document (isFleet) whose reports are returned. A missing or
// bad file is a usage error.
func readSavedReport(path string) (rs []*judgement.Report, isFleet bool, err error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, false, exitcode.Usagef("report %s: %v", path, unwrapPathErr(err))
	}
	var head struct {
		Schema string `json:"schema"`
	}
	if json.Unmarshal(data, &head) == nil && head.Schema == reports.FleetSchema {
		f, err := reports.DecodeFleet(bytes.NewReader(data))
		if err != nil {
			return nil, true, exitcode.Usagef("report %s: %v", path, err)
		}
		return f.Reports, true, nil
	}
	r, err := judgement.DecodeReport(bytes.NewReader(data))
	if err != nil {
		return nil, false, exitcode.Usagef("report %s: %v", path, err)
	}
	return []*judgement.Report{r}, false, nil
}

// writeFleet renders every requested output of a merged fleet and returns
// the fleet's exit code as the command's result.
func (a *app) writeFleet(f *reports.Fleet, outs []reportOutput) error {
	for _, o := range outs {
		toStdout := o.path == "-" || o.path == ""
		rd, err := reports.GetFleet(o.format)
		if err != nil {
			return exitcode.Usagef("%v", err)
		}
		if o.format == "text" && toStdout && a.stdoutIsTerminal() {
			rd = reports.FleetTextRenderer{Color: true}
		}
		var buf bytes.Buffer
		if err := rd.Render(&buf, f); err != nil {
			return fmt.Errorf("render %s fleet report: %w", o.format, err)
		}
		if toStdout {
			if _, err := a.stdout.Write(buf.Bytes()); err != nil {
				return err
			}
			continue
		}
		if err := atomicfile.Write(o.path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s fleet report: %w", o.format, err)
		}
	}
	if f.ExitCode != exitcode.OK {
		return exitcode.Wrap(f.ExitCode, errSilent)
	}
	return nil
}
