package main

import (
	"bytes"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/policies"
	"github.com/msguard/msguard/reports"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// judgeFlags are the policy and report flags shared by check and audit.
type judgeFlags struct {
	policyDirs []string
	dataFiles  []string
	waivers    string
	failOnWarn bool
	format     string
	output     string
	reports    []string
}

func (a *app) addJudgeFlags(cmd *cobra.Command, jf *judgeFlags) {
	f := cmd.Flags()
	f.StringArrayVar(&jf.policyDirs, "policy", nil, "add the Rego policies of DIR (repeatable)")
	f.StringArrayVar(&jf.dataFiles, "data", nil, "add policy data from a YAML or JSON FILE (repeatable)")
	f.StringVar(&jf.waivers, "waivers", "", "waiver FILE (YAML: key, reason, approver, expires)")
	f.BoolVar(&jf.failOnWarn, "fail-on-warn", false, "exit 4 when there are warnings and no deny")
	f.StringVar(&jf.format, "format", "text", "report format: "+strings.Join(reports.Formats(), ", "))
	f.StringVarP(&jf.output, "output", "o", "-", "write the report to FILE (- = stdout)")
	f.StringArrayVar(&jf.reports, "report", nil, "also write FORMAT=FILE (repeatable), e.g. --report junit=out.xml")
}

func (a *app) checkCmd() *cobra.Command {
	var cf collectFlags
	var jf judgeFlags
	var phase, snapshot string
	cmd := &cobra.Command{
		Use:   "check --phase preflight|quiesce|postflight (--server-root DIR | --snapshot FILE)",
		Short: "Judge the host (or a saved snapshot) with the phase's policies",
		Long: `check collects the host's facts (or reads --snapshot), evaluates the phase's Rego
policies and writes a report. preflight: is the host ready for the upgrade window;
quiesce: is everything but the directory stopped before the first backup;
postflight: is the upgraded host healthy. Unwaived deny findings exit 3; a fact that
could not be collected is an error finding, never a pass.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runCheck(cmd, phase, snapshot, cf, jf)
		},
	}
	a.addCommonFlags(cmd)
	a.addCollectFlags(cmd, &cf)
	a.addJudgeFlags(cmd, &jf)
	a.addProbeFlags(cmd, &cf.probeFlags)
	cmd.Flags().StringVar(&phase, "phase", "", "the policies to judge with: "+orList(checkPhases))
	cmd.Flags().StringVar(&snapshot, "snapshot", "", "judge this snapshot FILE instead of collecting")
	return cmd
}

func (a *app) runCheck(cmd *cobra.Command, phase, snapshotFile string, cf collectFlags, jf judgeFlags) error {
	switch {
	case phase == "":
		return exitcode.Usagef("--phase is required: %s", orList(checkPhases))
	case !slices.Contains(checkPhases, phase):
		return exitcode.Usagef("--phase %q: want %s", phase, orList(checkPhases))
	}
	if (cf.serverRoot == "") == (snapshotFile == "") {
		return exitcode.Usagef("give exactly one of --server-root DIR (collect now) or --snapshot FILE")
	}
	var err error
	if cf.probe, err = cf.probeFlags.options(phase == "postflight" && snapshotFile == "",
		"the mail-flow probe runs with --phase postflight on a live host (--server-root), not with --phase "+phase+" or --snapshot"); err != nil {
		return err
	}
	outputs, err := parseReportFlags(jf)
	if err != nil {
		return err
	}
	started := time.Now()
	engine, waivers, err := loadPolicies(cmd, jf)
	if err != nil {
		return err
	}
	var snap *facts.Snapshot
	if snapshotFile != "" {
		snap, err = readSnapshot(snapshotFile)
	} else {
		snap, err = a.collect(cmd, cf)
	}
	if err != nil {
		return err
	}
	report, err := judge(cmd, engine, waivers, snap, policies.Params{Phase: phase}, started, jf.failOnWarn)
	if err != nil {
		return err
	}
	return a.writeReports(report, outputs)
}

// loadPolicies compiles the policies once and reads the waivers.
func loadPolicies(cmd *cobra.Command, jf judgeFlags) (*policies.Engine, []policies.Waiver, error) {
	engine, err := policies.New(cmd.Context(), policies.Config{PolicyDirs: jf.policyDirs, DataFiles: jf.dataFiles})
	if err != nil {
		return nil, nil, err
	}
	var waivers []policies.Waiver
	if jf.waivers != "" {
		if waivers, err = policies.LoadWaivers(jf.waivers); err != nil {
			return nil, nil, err
		}
	}
	return engine, waivers, nil
}

// judge evaluates one phase, applies the waivers and builds the report.
func judge(cmd *cobra.Command, e *policies.Engine, waivers []policies.Waiver, snap *facts.Snapshot, p policies.Params, started time.Time, failOnWarn bool) (*judgement.Report, error) {
	now := time.Now().UTC()
	if p.Now == "" {
		p.Now = now.Format(time.RFC3339)
	}
	res, err := e.Evaluate(cmd.Context(), policies.Input{Snapshot: snap, Params: p})
	if err != nil {
		return nil, err
	}
	res.Findings = policies.ApplyWaivers(res.Findings, waivers, e.Keys(), now)
	return policies.Report(policies.Judgement{
		Phase: p.Phase, Snapshot: snap, Result: res, StartedAt: started, FailOnWarn: failOnWarn,
	}), nil
}

// readSnapshot reads a saved snapshot; a bad file is a usage error.
func readSnapshot(path string) (*facts.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, exitcode.Usagef("snapshot %s: %v", path, unwrapPathErr(err))
	}
	defer f.Close()
	s, err := facts.DecodeSnapshot(f)
	if err != nil {
		return nil, exitcode.Usagef("snapshot %s: %v", path, err)
	}
	return s, nil
}

// reportOutput is one rendering of the report.
type reportOutput struct {
	format, path string // path "-" = stdout
}

// parseReportFlags checks --format, -o and every --report FORMAT=FILE.
func parseReportFlags(jf judgeFlags) ([]reportOutput, error) {
	outs := []reportOutput{{jf.format, jf.output}}
	for _, r := range jf.reports {
		format, path, ok := strings.Cut(r, "=")
		if !ok || path == "" {
			return nil, exitcode.Usagef("--report %q: want FORMAT=FILE, e.g. junit=report.xml", r)
		}
		outs = append(outs, reportOutput{format, path})
	}
	for _, o := range outs {
		if _, err := reports.Get(o.format); err != nil {
			return nil, exitcode.Usagef("%v", err)
		}
	}
	return outs, nil
}

// writeReports renders every requested output and returns the report's
// exit code as the command's result.
func (a *app) writeReports(r *judgement.Report, outs []reportOutput) error {
	for _, o := range outs {
		var rd reports.Renderer
		if o.format == "text" && (o.path == "-" || o.path == "") && a.stdoutIsTerminal() {
			rd = reports.NewText(true)
		} else {
			rd, _ = reports.Get(o.format)
		}
		var buf bytes.Buffer
		if err := rd.Render(&buf, r); err != nil {
			return fmt.Errorf("render %s report: %w", o.format, err)
		}
		if o.path == "-" || o.path == "" {
			if _, err := a.stdout.Write(buf.Bytes()); err != nil {
				return err
			}
			continue
		}
		if err := atomicfile.Write(o.path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s report: %w", o.format, err)
		}
	}
	if r.ExitCode != exitcode.OK {
		return exitcode.Wrap(r.ExitCode, errSilent)
	}
	return nil
}

func (a *app) stdoutIsTerminal() bool {
	f, ok := a.stdout.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
