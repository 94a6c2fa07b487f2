package main

import (
	"os"
	"strings"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/reports"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, (*app).reportCmd) }

func (a *app) reportCmd() *cobra.Command {
	var from, format, output string
	cmd := &cobra.Command{
		Use:   "report --from report.json --format FORMAT [-o FILE]",
		Short: "Re-render a saved JSON report in another format",
		Long: `report reads a report saved with --format json (or --report json=FILE) and renders
it again, in any format, without touching the host. It exits with the saved
report's exit code, so a pipeline can gate on a re-rendered report too.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return exitcode.Usagef("--from is required: a report saved with --format json")
			}
			f, err := os.Open(from)
			if err != nil {
				return exitcode.Usagef("report %s: %v", from, unwrapPathErr(err))
			}
			defer f.Close()
			r, err := facts.DecodeReport(f)
			if err != nil {
				return exitcode.Usagef("report %s: %v", from, err)
			}
			outs, err := parseReportFlags(judgeFlags{format: format, output: output})
			if err != nil {
				return err
			}
			return a.writeReports(r, outs)
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "saved JSON report (msguard.report/v1)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: "+strings.Join(reports.Formats(), ", "))
	cmd.Flags().StringVarP(&output, "output", "o", "-", "write to FILE (- = stdout)")
	return cmd
}
