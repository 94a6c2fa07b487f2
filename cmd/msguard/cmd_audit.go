package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"net"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/audit"
	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/policies"
	"github.com/msguard/msguard/reports"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// auditFlags are audit's own flags.
type auditFlags struct {
	baseline      string
	history       string
	historyKeep   int
	historyMaxAge time.Duration
	metricsFile   string
	serve         string
	interval      time.Duration
	allowRemote   bool
}

func (a *app) auditCmd() *cobra.Command {
	var cf collectFlags
	var jf judgeFlags
	var af auditFlags
	cmd := &cobra.Command{
		Use:   "audit --server-root DIR [--baseline FILE] [--history DIR] [--metrics-file FILE] [--serve ADDR]",
		Short: "Scheduled health of the upgraded host: postflight and audit policies against a baseline",
		Long: `audit collects the host's facts and judges them with the postflight policies and
the audit policies, which compare the host with a baseline snapshot: recipients,
mailboxes and PAB entries in the directory, queued messages, versions, the
customised configuration, and the server's own disk alarm. One report, phase
"audit", holds the findings of both.

The baseline defaults to the before.json snapshot that the last remediate run
of this server root kept in its backup directory; without one, every comparison
is an error finding (unknown never passes): pass --baseline FILE (a snapshot of
msguard collect). MTA log records before the restart that remediate recorded
(post.start) are not counted.

--history DIR keeps every run's JSON report as <time>-<verdict>.json (rotated
by --history-keep and --history-max-age); the HTML report then shows a trend.
"msguard audit history" shows verdicts over time and what changed.
--metrics-file writes Prometheus text for node_exporter's textfile collector.
--serve ADDR serves /healthz, /metrics and /report.json, re-running the audit
at most every --interval, until SIGINT or SIGTERM (exit 130).`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runAudit(cmd, cf, jf, af) },
	}
	a.addCommonFlags(cmd)
	a.addCollectFlags(cmd, &cf)
	a.addJudgeFlags(cmd, &jf)
	a.addProbeFlags(cmd, &cf.probeFlags)
	f := cmd.Flags()
	f.StringVar(&af.baseline, "baseline", "", "baseline snapshot FILE (default: <backup dir>/before.json of the last remediate run)")
	f.StringVar(&af.history, "history", "", "keep each run's JSON report in DIR and show the trend")
	f.IntVar(&af.historyKeep, "history-keep", 90, "keep at most N runs in --history (0: no limit)")
	f.DurationVar(&af.historyMaxAge, "history-max-age", 90*24*time.Hour, "delete runs older than this from --history (0: keep)")
	f.StringVar(&af.metricsFile, "metrics-file", "", "write Prometheus text format to FILE (node_exporter textfile collector)")
	f.StringVar(&af.serve, "serve", "", "serve /healthz, /metrics and /report.json on ADDR (default host 127.0.0.1)")
	f.DurationVar(&af.interval, "interval", 5*time.Minute, "with --serve: run the audit at most this often")
	f.BoolVar(&af.allowRemote, "serve-allow-remote", false, "allow --serve on an address that is not loopback")
	cmd.AddCommand(a.auditHistoryCmd())
	return cmd
}

// auditRun is everything one audit needs, prepared once.
type auditRun struct {
	a          *app
	cmd        *cobra.Command
	engine     *policies.Engine
	waivers    []policies.Waiver
	opts       collectors.Options
	base       *facts.Snapshot
	baseFile   string
	since      time.Time
	af         auditFlags
	failOnWarn bool
	outputs    []reportOutput
	progress   bool
}

func (a *app) runAudit(cmd *cobra.Command, cf collectFlags, jf judgeFlags, af auditFlags) error {
	outputs, err := parseReportFlags(jf)
	if err != nil {
		return err
	}
	if af.historyKeep < 0 || af.historyMaxAge < 0 {
		return exitcode.Usagef("--history-keep and --history-max-age must not be negative")
	}
	var listen string
	if af.serve != "" {
		if af.interval <= 0 {
			return exitcode.Usagef("--interval %v: want a positive duration, e.g. 5m", af.interval)
		}
		if listen, err = audit.ListenAddr(af.serve, af.allowRemote); err != nil {
			return exitcode.Wrap(exitcode.Usage, err)
		}
	}
	if cf.probe, err = cf.probeFlags.options(true, ""); err != nil {
		return err
	}
	engine, waivers, err := loadPolicies(cmd, jf)
	if err != nil {
		return err
	}
	opts, err := a.collectOptions(cf)
	if err != nil {
		return err
	}
	run := &auditRun{a: a, cmd: cmd, engine: engine, waivers: waivers, af: af,
		failOnWarn: jf.failOnWarn, outputs: outputs, baseFile: af.baseline}
	defaults, err := audit.Defaults(a.common.stateDir, opts.ServerRoot)
	if err != nil {
		a.log.Warn("remediate run state not readable: no default baseline or restart time", "error", err)
	}
	if run.baseFile == "" && defaults.Baseline != "" {
		run.baseFile = defaults.Baseline
		a.log.Info("baseline from the last remediate run", "file", run.baseFile)
	}
	if run.baseFile != "" {
		if run.base, err = readSnapshot(run.baseFile); err != nil {
			return err
		}
	} else {
		a.log.Warn("no baseline: the audit.* comparisons are error findings; pass --baseline FILE")
	}
	run.since = defaults.Since
	opts.MailLogSince = run.since
	run.opts = opts

	if af.serve == "" {
		run.progress = a.stderrIsTerminal() && !a.common.quiet
		rep, err := run.once(cmd.Context())
		if err != nil {
			return err
		}
		if err := run.render(rep, outputs); err != nil {
			return err
		}
		if rep.ExitCode != exitcode.OK {
			return exitcode.Wrap(rep.ExitCode, errSilent)
		}
		return nil
	}

	l, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("--serve: %w", err)
	}
	a.log.Info("serving the audit", "addr", l.Addr().String(), "interval", af.interval)
	fmt.Fprintf(a.stderr, "msguard audit: serving http://%s/healthz, /metrics, /report.json\n", l.Addr())
	srv := &audit.Server{Interval: af.interval, Log: a.log, Audit: func(ctx context.Context) (*judgement.Report, error) {
		rep, err := run.once(ctx)
		if err != nil {
			return nil, err
		}
		var files []reportOutput
		for _, o := range outputs {
			if o.path != "-" && o.path != "" {
				files = append(files, o)
			}
		}
		return rep, run.render(rep, files)
	}}
	return srv.Serve(cmd.Context(), l)
}

// once runs one audit: collect, judge both phases, record the run in the
// history and the metrics file.
func (r *auditRun) once(ctx context.Context) (*judgement.Report, error) {
	started := time.Now()
	var onDone func(string)
	if r.progress {
		bar := progressbar.NewOptions(len(facts.AllCollectors),
			progressbar.OptionSetWriter(r.a.stderr), progressbar.OptionSetDescription("collecting"),
			progressbar.OptionClearOnFinish(), progressbar.OptionShowCount())
		defer bar.Finish()
		onDone = func(name string) { bar.Describe(name); _ = bar.Add(1) }
	}
	snap, err := collectors.Collect(ctx, r.opts, onDone)
	if err != nil {
		return nil, err
	}
	for _, fe := range snap.Errors() {
		r.a.log.Warn("fact not collected", "collector", fe.Collector, "error", fe.Error)
	}
	rep, err := audit.Judge(ctx, r.engine, r.waivers, snap, r.base, r.since, started, r.failOnWarn)
	if err != nil {
		return nil, err
	}
	rep.Audit.Baseline = r.baseFile
	if r.af.history != "" {
		h := audit.History{Dir: r.af.history}
		if _, err := h.Append(rep); err != nil {
			return nil, err
		}
		removed, err := h.Rotate(r.af.historyKeep, r.af.historyMaxAge, rep.FinishedAt)
		if err != nil {
			return nil, err
		}
		if len(removed) > 0 {
			r.a.log.Info("history rotated", "removed", len(removed))
		}
	}
	if r.af.metricsFile != "" {
		if err := audit.WriteMetricsFile(r.af.metricsFile, rep); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// render writes the report in every requested format; the HTML report
// gets the trend of the history when there is one.
func (r *auditRun) render(rep *judgement.Report, outs []reportOutput) error {
	var trend []reports.TrendPoint
	for _, o := range outs {
		if o.format == "html" && r.af.history != "" && trend == nil {
			trend = loadTrend(audit.History{Dir: r.af.history}, r.a)
		}
	}
	for _, o := range outs {
		var rd reports.Renderer
		switch {
		case o.format == "html":
			rd = reports.HTMLRenderer{Trend: trend}
		case o.format == "text" && (o.path == "-" || o.path == "") && r.a.stdoutIsTerminal():
			rd = reports.NewText(true)
		default:
			rd, _ = reports.Get(o.format)
		}
		var buf bytes.Buffer
		if err := rd.Render(&buf, rep); err != nil {
			return fmt.Errorf("render %s report: %w", o.format, err)
		}
		if o.path == "-" || o.path == "" {
			if _, err := r.a.stdout.Write(buf.Bytes()); err != nil {
				return err
			}
			continue
		}
		if err := atomicfile.Write(o.path, buf.Bytes(), 0o644); err != nil {
			return fmt.Errorf("write %s report: %w", o.format, err)
		}
	}
	return nil
}

// loadTrend reads the history's runs as trend points, oldest first; an
// unreadable run is left out (and logged), not fatal to the report.
func loadTrend(h audit.History, a *app) []reports.TrendPoint {
	entries, err := h.List()
	if err != nil {
		a.log.Warn("history not readable: no trend", "error", err)
		return nil
	}
	var pts []reports.TrendPoint
	for _, e := range entries {
		rep, err := h.Load(e)
		if err != nil {
			a.log.Warn("history run skipped", "run", e.Name, "error", err)
			continue
		}
		pts = append(pts, trendPoint(rep))
	}
	return pts
}

// trendPoint is one report as the trend chart shows it.
func trendPoint(rep *judgement.Report) reports.TrendPoint {
	p := reports.TrendPoint{Time: rep.FinishedAt, Verdict: rep.Verdict,
		Deny: rep.Summary.Deny, Error: rep.Summary.Error, Warn: rep.Summary.Warn, Queue: -1}
	if rep.Audit != nil && rep.Audit.Queue != nil {
		p.Queue = rep.Audit.Queue.Messages
	}
	return p
}

// auditHistoryCmd is `msguard audit history`.
func (a *app) auditHistoryCmd() *cobra.Command {
	var dir, format, from, to string
	cmd := &cobra.Command{
		Use:   "history --history DIR [--format text|json] [--from RUN --to RUN]",
		Short: "Show audit verdicts over time and what changed between two runs",
		Long: `history lists the runs kept by msguard audit --history DIR (time, verdict, counts,
queued messages) and compares two of them by finding key: new, resolved and
persisting findings. The default compares the last two runs; --from and --to
name runs by file name, a unique prefix of it (its time) or the report's run_id.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return exitcode.Usagef("--history DIR is required")
			}
			if format != "text" && format != "json" {
				return exitcode.Usagef("--format %q: want text or json", format)
			}
			return a.runAuditHistory(audit.History{Dir: dir}, format, from, to)
		},
	}
	cmd.Flags().StringVar(&dir, "history", "", "the history directory of msguard audit --history")
	cmd.Flags().StringVar(&format, "format", "text", "text or json")
	cmd.Flags().StringVar(&from, "from", "", "compare from this run (default: the one before --to)")
	cmd.Flags().StringVar(&to, "to", "", "compare to this run (default: the latest)")
	return cmd
}

// historyRun is one run as `audit history` shows it.
type historyRun struct {
	Run      string `json:"run"`
	RunID    string `json:"run_id"`
	Time     string `json:"time"`
	Verdict  string `json:"verdict"`
	Deny     int    `json:"deny"`
	Warn     int    `json:"warn"`
	Error    int    `json:"error"`
	Waived   int    `json:"waived"`
	Queue    *int64 `json:"queue_messages,omitempty"`
	Unusable string `json:"unreadable,omitempty"`
}

func (a *app) runAuditHistory(h audit.History, format, from, to string) error {
	entries, err := h.List()
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	if len(entries) == 0 {
		return exitcode.Usagef("no audit runs in %s", h.Dir)
	}
	runs := make([]historyRun, 0, len(entries))
	reportsByName := map[string]*judgement.Report{}
	for _, e := range entries {
		hr := historyRun{Run: e.ID(), Time: e.Time.Format(time.RFC3339), Verdict: e.Verdict}
		rep, err := h.Load(e)
		if err != nil {
			hr.Unusable = err.Error()
		} else {
			reportsByName[e.Name] = rep
			hr.RunID, hr.Deny, hr.Warn, hr.Error, hr.Waived = rep.RunID, rep.Summary.Deny, rep.Summary.Warn, rep.Summary.Error, rep.Summary.Waived
			if rep.Audit != nil && rep.Audit.Queue != nil {
				q := rep.Audit.Queue.Messages
				hr.Queue = &q
			}
		}
		runs = append(runs, hr)
	}
	var changes *audit.Changes
	toE, fromE := entries[len(entries)-1], entries[0]
	if to != "" {
		if toE, err = h.Find(entries, to); err != nil {
			return exitcode.Wrap(exitcode.Usage, err)
		}
	}
	if from != "" {
		if fromE, err = h.Find(entries, from); err != nil {
			return exitcode.Wrap(exitcode.Usage, err)
		}
	} else {
		fromE = toE
		for i, e := range entries {
			if e.Name == toE.Name && i > 0 {
				fromE = entries[i-1]
			}
		}
	}
	if fromE.Name != toE.Name {
		fr, tr := reportsByName[fromE.Name], reportsByName[toE.Name]
		if fr == nil || tr == nil {
			return exitcode.Usagef("cannot compare %s with %s: a run is unreadable", fromE.ID(), toE.ID())
		}
		c := audit.Diff(fromE.ID(), fr, toE.ID(), tr)
		changes = &c
	}
	if format == "json" {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			History string         `json:"history"`
			Runs    []historyRun   `json:"runs"`
			Changes *audit.Changes `json:"changes"`
		}{h.Dir, runs, changes})
	}
	writeHistoryText(a.stdout, h.Dir, runs, changes)
	return nil
}

// writeHistoryText renders the runs table and the changes as text.
func writeHistoryText(w io.Writer, dir string, runs []historyRun, c *audit.Changes) {
	fmt.Fprintf(w, "audit history %s: %d runs\n", filepath.Clean(dir), len(runs))
	fmt.Fprintf(w, "  %-25s %-10s %5s %5s %5s %6s %7s\n", "time", "verdict", "deny", "error", "warn", "waived", "queued")
	for _, r := range runs {
		if r.Unusable != "" {
			fmt.Fprintf(w, "  %-25s %-10s unreadable: %s\n", r.Time, r.Verdict, r.Unusable)
			continue
		}
		q := "-"
		if r.Queue != nil {
			q = fmt.Sprint(*r.Queue)
		}
		fmt.Fprintf(w, "  %-25s %-10s %5d %5d %5d %6d %7s\n", r.Time, r.Verdict, r.Deny, r.Error, r.Warn, r.Waived, q)
	}
	if c == nil {
		fmt.Fprintln(w, "\nonly one run: nothing to compare")
		return
	}
	fmt.Fprintf(w, "\nchanges from %s to %s:\n", c.From, c.To)
	for _, s := range []struct {
		name string
		l    []audit.KeyChange
	}{{"new", c.New}, {"resolved", c.Resolved}, {"persisting", c.Persisting}} {
		fmt.Fprintf(w, "  %s (%d)\n", s.name, len(s.l))
		for _, k := range s.l {
			sev := k.Severity
			if k.Was != "" {
				sev = k.Was + " -> " + k.Severity
			}
			fmt.Fprintf(w, "    [%s] %s: %s\n", sev, k.Key, k.Msg)
		}
	}
}
