package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/rehearse"
	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/reports"
)

// rehearseFlags are rehearse's own flags.
type rehearseFlags struct {
	scratch  string
	overlays []string
	keep     bool
	jf       judgeFlags // --format, -o, --report
}

func (a *app) rehearseCmd() *cobra.Command {
	var cf collectFlags
	var rf remediateFlags
	var hf rehearseFlags
	cmd := &cobra.Command{
		Use:   "rehearse --server-root DIR --media DIR [--scratch DIR] [--overlay DIR]...",
		Short: "Run the whole upgrade on a copy-on-write twin of the host; production untouched",
		Long: `rehearse runs every step of remediate, the real installers and the gates included,
against a twin of the host: the server root (and the Web Server root, the store mount
and every --overlay directory) is overlaid copy-on-write at the same paths in a private
mount namespace, with a network namespace of its own (the twin's servers bind
production's ports on their own loopback and reach no other host) and a PID namespace
of its own (the twin stops only its own processes). The twin starts the servers
production runs, then runs the plan; every write lands in --scratch.

It writes the report of the twin's last gate (its postflight when the plan got that
far) with the plan as it ran (each step's outcome and time), the mail service's
downtime in the twin, and whether production was untouched (every entry below the
overlaid directories identical before and after, the production daemons the same
processes), in any format of check; the twin's progress goes to stderr. It exits as remediate would have (0, 3, 5, 6); 2 when the kernel refuses
the namespaces or overlayfs, with nothing touched. A cluster node is twinned only when
its cluster CLIs lie in the overlaid directories (otherwise, in the twin, they would act
on the production cluster): it is refused with exit 2 then.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRehearse(cmd, cf, rf, hf) },
	}
	a.addCommonFlags(cmd)
	a.addCollectFlags(cmd, &cf)
	addRemediateFlags(cmd, &rf)
	f := cmd.Flags()
	// The twin's backups go to --scratch.
	_ = f.MarkHidden("backup-dir")
	f.StringVar(&hf.scratch, "scratch", "", "directory for the twin's writes, backups and journal (default: a new directory in /var/tmp)")
	f.StringArrayVar(&hf.overlays, "overlay", nil, "another directory the upgrade writes, outside the server root, to overlay too (repeatable)")
	f.BoolVar(&hf.keep, "keep", false, "keep the scratch directory (the twin's files, backups, journal and transcripts)")
	f.StringVar(&hf.jf.format, "format", "text", "report format: "+strings.Join(reports.Formats(), ", "))
	f.StringVarP(&hf.jf.output, "output", "o", "-", "write the report to FILE (- = stdout)")
	f.StringArrayVar(&hf.jf.reports, "report", nil, "also write FORMAT=FILE (repeatable), e.g. --report junit=out.xml")
	return cmd
}

// rehearseTwinCmd is the twin's side (hidden): first process of the new
// namespaces, it enters the twin and reaps; --stage2 starts production's
// servers in the twin and runs remediate.
func (a *app) rehearseTwinCmd() *cobra.Command {
	var cf collectFlags
	var rf remediateFlags
	var specPath string
	var stage2 bool
	cmd := &cobra.Command{
		Use:    "rehearse-twin",
		Hidden: true,
		Args:   usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := rehearse.ReadSpec(specPath)
			if err != nil {
				return err
			}
			if !stage2 {
				if err := spec.Enter(); err != nil {
					return exitcode.Wrap(exitcode.Usage, fmt.Errorf("%w; nothing was touched", err))
				}
				if d := spec.Directory; d != nil {
					loading := time.Now()
					if _, err := d.Serve(cmd.Context()); err != nil {
						return exitcode.Wrap(exitcode.Usage, err)
					}
					fmt.Fprintf(a.stdout, "twin: scratch directory for %s: %d entries of %d suffixes, on %s port %d (exported in %s, loaded and started in %s)\n",
						d.URL, d.Entries(), len(d.Suffixes), strings.Join(d.Addresses, ", "), d.Port,
						time.Duration(d.ExportMS)*time.Millisecond, time.Since(loading).Round(time.Millisecond))
				}
				return reapWhile(append([]string{"rehearse-twin", "--stage2"}, os.Args[2:]...))
			}
			for _, c := range spec.Detached {
				d := exec.Command(c[0], c[1:]...)
				d.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
				if err := d.Start(); err != nil {
					return fmt.Errorf("twin: start %s: %w", strings.Join(c, " "), err)
				}
				fmt.Fprintf(a.stdout, "twin: %s (pid %d)\n", strings.Join(c, " "), d.Process.Pid)
			}
			for _, c := range spec.Start {
				out, err := exec.CommandContext(cmd.Context(), c[0], c[1:]...).CombinedOutput()
				fmt.Fprintf(a.stdout, "twin: %s\n%s", strings.Join(c, " "), out)
				if err != nil && !strings.Contains(string(out), "already running") {
					return fmt.Errorf("twin: start %s: %w", strings.Join(c, " "), err)
				}
			}
			rf.yes = true
			a.gateReports = filepath.Dir(specPath)
			return a.runRemediate(cmd, cf, rf)
		},
	}
	a.addCommonFlags(cmd)
	a.addCollectFlags(cmd, &cf)
	addRemediateFlags(cmd, &rf)
	cmd.Flags().StringVar(&specPath, "twin-spec", "", "")
	cmd.Flags().BoolVar(&stage2, "stage2", false, "")
	cmd.Flags().BoolVar(&rf.yes, "yes", true, "")
	return cmd
}

// reapWhile runs this executable with args and, as the PID namespace's
// first process, reaps every orphan until it ends; it exits with its code.
func reapWhile(args []string) error {
	c := exec.Command("/proc/self/exe", args...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := c.Start(); err != nil {
		return err
	}
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, 0, nil)
		if errors.Is(err, syscall.EINTR) {
			continue
		}
		if err != nil {
			return err
		}
		if pid == c.Process.Pid {
			if ws.Exited() {
				os.Exit(ws.ExitStatus())
			}
			os.Exit(exitcode.Runtime)
		}
	}
}

func (a *app) runRehearse(cmd *cobra.Command, cf collectFlags, rf remediateFlags, hf rehearseFlags) error {
	if rf.media == "" {
		return exitcode.Usagef("--media is required: the directory holding the Messaging Server 5.2 installer (msg52/setup)")
	}
	if cf.backupDir != "" {
		return exitcode.Usagef("--backup-dir: rehearse writes the twin's backups into --scratch; give --scratch DIR instead")
	}
	outs, err := parseReportFlags(hf.jf)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return exitcode.Usagef("msguard rehearse must run as root: the twin needs mount, network and PID namespaces and overlayfs; nothing was touched")
	}
	copts, err := a.collectOptions(cf)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	snap, err := collectors.Collect(ctx, copts, nil)
	if err != nil {
		return err
	}
	overlays := rehearsalOverlays(snap, hf.overlays)
	if err := clusterInTwin(snap, copts.Path, overlays); err != nil {
		return err
	}
	remoteDir, err := a.remoteDirectory(snap)
	if err != nil {
		return err
	}
	scratch := hf.scratch
	if scratch == "" {
		if scratch, err = os.MkdirTemp("/var/tmp", "msguard-rehearse-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(scratch, 0o700); err != nil {
		return exitcode.Usagef("--scratch %s: %v", scratch, err)
	}
	for _, o := range overlays {
		if pathWithin(scratch, o) {
			return exitcode.Usagef("--scratch %s is inside %s, which the twin overlays: pick a directory outside it", scratch, o)
		}
	}
	if !hf.keep {
		defer os.RemoveAll(scratch)
	}
	started := time.Now()

	// What production's daemons hold open for writing (their logs) they
	// write as they serve, rehearsal or not.
	live := rehearse.LiveFiles(overlays)
	before, err := rehearse.TakeFingerprint(overlays, filepath.Join(scratch, "production-before.txt"))
	if err != nil {
		return err
	}
	pidsBefore := daemonPIDs(ctx, copts)
	start, detached := startCommands(snap)
	spec := rehearse.Spec{Overlays: overlays, Scratch: filepath.Join(scratch, "twin"), Start: start, Detached: detached}
	if remoteDir != "" {
		if spec.Directory, err = a.exportDirectory(ctx, snap, copts, remoteDir, scratch); err != nil {
			return err
		}
	}
	specPath, err := rehearse.WriteSpec(scratch, spec)
	if err != nil {
		return err
	}
	backupDir, stateDir := filepath.Join(scratch, "backup"), filepath.Join(scratch, "state")
	args := append([]string{"rehearse-twin", "--twin-spec", specPath}, passThrough(cmd.Flags())...)
	args = append(args, "--backup-dir", backupDir, "--state-dir", stateDir)
	child := rehearse.Child(ctx, "/proc/self/exe", args...)
	// The twin's progress goes to stderr: stdout is the report's.
	child.Stdin, child.Stdout, child.Stderr = a.stdin, a.stderr, a.stderr
	if err := child.Start(); err != nil {
		if rehearse.Refused(err) {
			return exitcode.Wrap(exitcode.Usage, &rehearse.RefusedError{Err: err})
		}
		return err
	}
	werr := child.Wait()
	finished := time.Now()
	rh := &judgement.Rehearsal{RunMS: finished.Sub(started).Milliseconds()}
	var ee *exec.ExitError
	switch {
	case werr == nil:
	case errors.As(werr, &ee) && ee.Exited():
		rh.RemediateExitCode = ee.ExitCode()
	default:
		return fmt.Errorf("rehearse: the twin ended: %w", werr)
	}
	if rh.RemediateExitCode == exitcode.Usage {
		// The twin said what it could not set up, in one line.
		return exitcode.Wrap(exitcode.Usage, errSilent)
	}
	if rh.RemediateExitCode == exitcode.Runtime {
		return exitcode.New(rh.RemediateExitCode, "rehearse: the twin could not run the plan (see above); production untouched")
	}

	after, err := rehearse.TakeFingerprint(overlays, filepath.Join(scratch, "production-after.txt"))
	if err != nil {
		return err
	}
	pidsAfter := daemonPIDs(ctx, copts)
	maps.Copy(live, rehearse.LiveFiles(overlays))
	diff, err := rehearse.FirstDifference(before.Listing, after.Listing, live)
	if err != nil {
		return err
	}
	rh.Production = judgement.Production{Entries: after.Entries, Digest: after.Digest, DaemonPIDs: pidsAfter, LiveFiles: len(live),
		Untouched: diff == "" && slices.Equal(pidsBefore, pidsAfter)}
	if diff != "" {
		rh.Production.Difference = diff
	} else if !rh.Production.Untouched {
		rh.Production.Difference = fmt.Sprintf("production daemons were %v, now %v", pidsBefore, pidsAfter)
	}
	if st, err := runstate.Read(stateDir, snap.ServerRoot); err == nil && st.JournalDir != "" {
		if recs, err := remediate.ReadJournal(filepath.Join(st.JournalDir, runstate.JournalFile)); err == nil {
			rh.Steps = rehearse.StepsFromJournal(recs)
		}
		if hf.keep {
			rh.Transcripts = st.JournalDir
		}
	}
	rh.DowntimeMS = rehearse.DowntimeMS(rh.Steps)
	if d := spec.Directory; d != nil {
		rh.Directory = &judgement.RehearsalDirectory{URL: d.URL, Entries: d.Entries()}
		for _, s := range d.Suffixes {
			rh.Directory.Suffixes = append(rh.Directory.Suffixes, s.DN)
		}
	}

	rep := lastGateReport(scratch)
	if rep == nil {
		rep = &judgement.Report{Schema: judgement.ReportSchema, Tool: snap.Tool, Host: snap.Host, ServerRoot: snap.ServerRoot,
			Verdict: judgement.VerdictError, Findings: []judgement.Finding{}, FactsErrors: snap.Errors()}
	}
	rh.Gate = rep.Phase
	rep.StartedAt, rep.FinishedAt, rep.Rehearsal = started, finished, rh
	rep.ExitCode = rh.RemediateExitCode
	if !rh.Production.Untouched {
		rep.ExitCode = exitcode.Runtime
	}
	return a.writeReports(rep, outs)
}

// lastGateReport is the report of the twin's last gate: postflight, else
// quiesce, else preflight (nil when the plan ended before any).
func lastGateReport(scratch string) *judgement.Report {
	for _, phase := range []string{"postflight", "quiesce", "preflight"} {
		f, err := os.Open(filepath.Join(scratch, "gate-"+phase+".json"))
		if err != nil {
			continue
		}
		r, err := judgement.DecodeReport(f)
		f.Close()
		if err == nil {
			return r
		}
	}
	return nil
}

// rehearsalOverlays are the directories the twin overlays: the server
// root, the Web Server root when apart, the store when it is a mount of
// its own, and the operator's extras.
func rehearsalOverlays(s *facts.Snapshot, extra []string) []string {
	out := []string{s.ServerRoot}
	add := func(p string) {
		if p == "" {
			return
		}
		p = filepath.Clean(p)
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	if s.WebServerRoot != "" && !pathWithin(s.WebServerRoot, s.ServerRoot) {
		add(s.WebServerRoot)
	}
	if s.Mounts != nil && s.Mounts.Store.MountPoint {
		add(s.Mounts.Store.Path)
	}
	for _, e := range extra {
		if abs, err := filepath.Abs(e); err == nil {
			add(abs)
		}
	}
	return out
}

// pathWithin reports whether p is dir or below it.
func pathWithin(p, dir string) bool {
	p, dir = filepath.Clean(p), filepath.Clean(dir)
	return p == dir || strings.HasPrefix(p, dir+string(filepath.Separator))
}

// startCommands start, in the twin, the servers production runs:
// directory, administration, messaging (with "ha" on a cluster node), web
// (the backout's order); detached are the install's processes of no
// known role (a cluster monitor below the root), by their command lines.
func startCommands(s *facts.Snapshot) (start, detached [][]string) {
	if s.Processes == nil {
		return nil, nil
	}
	var slapd, admin, msg, web [][]string
	seen := map[string]bool{}
	for _, d := range s.Processes.Daemons {
		if d.Role == "" {
			if d.Cmdline != "" && !strings.Contains(d.Cmdline, facts.Redacted) {
				detached = append(detached, strings.Fields(d.Cmdline))
			}
			continue
		}
		if seen[d.Role] {
			continue
		}
		seen[d.Role] = true
		switch kind, name, _ := strings.Cut(d.Role, ":"); kind {
		case "slapd":
			slapd = append(slapd, []string{filepath.Join(s.ServerRoot, "slapd-"+name, "start-slapd")})
		case "admin-server":
			admin = append(admin, []string{filepath.Join(s.ServerRoot, "start-admin")})
		case "msg":
			c := []string{filepath.Join(s.ServerRoot, "msg-"+name, "start-msg")}
			if s.HA != nil && s.HA.Kind != collectors.HANone {
				c = append(c, "ha")
			}
			msg = append(msg, c)
		case "webserver":
			web = append(web, []string{filepath.Join(s.WebServerRoot, name, "start")})
		}
	}
	return slices.Concat(slapd, admin, msg, web), detached
}

// clusterInTwin refuses a cluster node whose cluster CLIs are outside the
// overlaid directories: in the twin they would still reach the production
// cluster (through its files and sockets, which no namespace hides) and
// switch production's data service off.
func clusterInTwin(s *facts.Snapshot, path string, overlays []string) error {
	if s.HA == nil || s.HA.Kind == collectors.HANone {
		return nil
	}
	if path == "" {
		path = os.Getenv("PATH")
	}
	for _, tool := range s.HA.Tools {
		// The CLI as the ha collector found it, its links resolved.
		found := collectors.LiveHost{}.LookPath(tool, path)
		p, err := filepath.EvalSymlinks(found)
		if found == "" || err != nil {
			return exitcode.Usagef("cluster CLI %s: not found in PATH %s", tool, path)
		}
		inside := false
		for _, o := range overlays {
			inside = inside || pathWithin(p, o)
		}
		if !inside {
			return exitcode.Usagef("%s is a %s cluster node whose cluster CLI %s is outside the twin: in the twin it would act on the production cluster; rehearse does not twin such a cluster (overlay its directory with --overlay only if its state lives there too); nothing was touched",
				s.ServerRoot, s.HA.Kind, p)
		}
	}
	return nil
}

// daemonPIDs are the production daemons' pids, sorted.
func daemonPIDs(ctx context.Context, opts collectors.Options) []int {
	ds, err := collectors.Daemons(ctx, opts)
	if err != nil {
		return nil
	}
	var out []int
	for _, d := range ds {
		out = append(out, int(d.PID))
	}
	slices.Sort(out)
	return out
}

// passThrough repeats the flags the operator set, for the twin, without
// rehearse's own.
func passThrough(fs *pflag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *pflag.Flag) {
		switch f.Name {
		case "scratch", "overlay", "keep", "backup-dir", "state-dir", "format", "output", "report":
			return
		}
		if sv, ok := f.Value.(pflag.SliceValue); ok {
			for _, v := range sv.GetSlice() {
				out = append(out, "--"+f.Name+"="+v)
			}
			return
		}
		out = append(out, "--"+f.Name+"="+f.Value.String())
	})
	return out
}
