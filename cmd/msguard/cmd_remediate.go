package main

import (
	"bytes"
	"context"
	"path/filepath"

	"errors"
	"fmt"
	"time"

	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/remediate/ldapexport"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/secret"
	"github.com/msguard/msguard/policies"
	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/reports"
	"github.com/spf13/cobra"
)

// remediateFlags are remediate's own flags.
type remediateFlags struct {
	media                              string
	plan, yes, resume                  bool
	adminPasswordFile, svcPasswordFile string
	adminID, serviceAdminID            string
	stopTimeout, queueWatch            time.Duration
	jf                                 judgeFlags
}

func (a *app) remediateCmd() *cobra.Command {
	var cf collectFlags
	var rf remediateFlags
	cmd := &cobra.Command{
		Use:   "remediate --server-root DIR --media DIR [--backup-dir DIR] [--plan] [--yes] [--resume]",
		Short: "Carry out the upgrade: every runbook step, gated, journaled, resumable, with a verified backup and backout",
		Long: `remediate upgrades the host to Messaging Server 5.2 as Appendix C says: it stops
message processing, backs up the server root, queue and directory (verified by
re-reading), upgrades the Directory Server when needed, runs setup -k from --media,
restores the store and starts the servers. It refuses to start unless the preflight
check passes, and refuses the first backup unless the quiesce check passes. On a
cluster it takes the data service out of the cluster before the stops and gives it
back after the servers are started. It must run as root.

Every step proves its effect by reading the host (backups re-read, LDIF entries
counted against the server, versions read again, servers running and answering,
cluster state), never by an exit code: a step whose effect is missing fails.

--plan prints the steps this host needs and changes nothing. A failed step runs the
backout (exit 5 when the host is back as before, 6 when the backout failed too: see
the journal in the backup directory). A killed run is continued with --resume.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runRemediate(cmd, cf, rf) },
	}
	a.addCommonFlags(cmd)
	a.addCollectFlags(cmd, &cf)
	f := cmd.Flags()
	f.BoolVar(&rf.plan, "plan", false, "print the steps this host needs and change nothing")
	f.BoolVar(&rf.yes, "yes", false, "do not ask for confirmation")
	f.BoolVar(&rf.resume, "resume", false, "continue an interrupted run from its last completed step")
	addRemediateFlags(cmd, &rf)
	return cmd
}

// addRemediateFlags adds the flags remediate and rehearse share: the
// media, the installers' administrators, the gates' policies, the waits.
func addRemediateFlags(cmd *cobra.Command, rf *remediateFlags) {
	f := cmd.Flags()
	f.StringVar(&rf.media, "media", "", "the Messaging Server 5.2 installer media (DIR/msg52/setup)")
	f.StringVar(&rf.adminPasswordFile, "admin-password-file", "", "Configuration Directory Administrator password file (else MSGUARD_ADMIN_PASSWORD)")
	f.StringVar(&rf.svcPasswordFile, "service-admin-password-file", "", "Service Administrator password file, when its id is not ServiceAdmin (else MSGUARD_SERVICE_ADMIN_PASSWORD)")
	f.StringVar(&rf.adminID, "admin-id", "", "Configuration Directory Administrator id (default: install.inf's, or admin)")
	f.StringVar(&rf.serviceAdminID, "service-admin-id", "", "Service Administrator id (default: install.inf's, or ServiceAdmin)")
	f.StringArrayVar(&rf.jf.policyDirs, "policy", nil, "add the Rego policies of DIR to the gates (repeatable)")
	f.StringArrayVar(&rf.jf.dataFiles, "data", nil, "policy data FILE (repeatable)")
	f.StringVar(&rf.jf.waivers, "waivers", "", "waiver FILE applied to the gates")
	f.DurationVar(&rf.stopTimeout, "stop-timeout", 60*time.Second, "how long a stop step (and a cluster switch-off) waits for the servers' processes to exit before it fails")
	f.DurationVar(&rf.queueWatch, "queue-watch", remediate.DefaultQueueWatch, "how long post.queue watches the queue drain after the start before it reports what is left")
}

func (a *app) runRemediate(cmd *cobra.Command, cf collectFlags, rf remediateFlags) error {
	if rf.media == "" && !rf.resume {
		return exitcode.Usagef("--media is required: the directory holding the Messaging Server 5.2 installer (msg52/setup)")
	}
	opts, err := a.remediateOptions(cmd, cf, rf, !rf.plan)
	if err != nil {
		return err
	}
	return remediate.Run(cmd.Context(), opts, rf.plan)
}

func (a *app) backoutCmd() *cobra.Command {
	var cf collectFlags
	var rf remediateFlags
	cmd := &cobra.Command{
		Use:   "backout --server-root DIR [--backup-dir DIR]",
		Short: "Restore the host from the last remediate run's verified backup (runbook §7)",
		Long: `backout stops Delegated Administrator, Web Server, Messaging Server, Directory Server
and Administration Server in that order, takes the store off, restores the server root
from the last run's verified backup and checks it against the backup's manifest, puts
the store back and starts everything again in the reverse order.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts, err := a.remediateOptions(cmd, cf, rf, false)
			if err != nil {
				return err
			}
			if err := remediate.Backout(cmd.Context(), opts); err != nil {
				var coded *exitcode.Error
				if errors.As(err, &coded) {
					return err // refused before anything was touched (not root, no run)
				}
				return exitcode.Wrap(exitcode.BackoutFailed, err)
			}
			return nil
		},
	}
	a.addCommonFlags(cmd)
	a.addCollectFlags(cmd, &cf)
	return cmd
}

// remediateOptions wires the collectors and the policies into remediate.
func (a *app) remediateOptions(cmd *cobra.Command, cf collectFlags, rf remediateFlags, needInstallerPasswords bool) (remediate.Options, error) {
	copts, err := a.collectOptions(cf)
	if err != nil {
		return remediate.Options{}, err
	}
	bindPW, _ := copts.BindPassword()
	engine, waivers, err := loadPolicies(cmd, rf.jf)
	if err != nil {
		return remediate.Options{}, err
	}
	var adminPW, svcPW string
	if needInstallerPasswords {
		adminPW, err = secret.Source{What: "Configuration Directory Administrator password", File: rf.adminPasswordFile,
			FileFlag: "admin-password-file", Env: "MSGUARD_ADMIN_PASSWORD", Prompt: true}.Read()
		if err != nil {
			return remediate.Options{}, exitcode.Wrap(exitcode.Usage, err)
		}
		svcPW, err = secret.Source{What: "Service Administrator password", File: rf.svcPasswordFile,
			FileFlag: "service-admin-password-file", Env: "MSGUARD_SERVICE_ADMIN_PASSWORD"}.Read()
		if err != nil && !errors.Is(err, secret.ErrNone) {
			return remediate.Options{}, err
		}
	}
	if copts.BackupDir == "" {
		// The backups go below the default root: measure its free space.
		copts.BackupDir = remediate.DefaultBackupRoot
	}
	c := a.common
	text := reports.NewText(false)
	return remediate.Options{
		ServerRoot: copts.ServerRoot, Media: rf.media, BackupDir: cf.backupDir, StateDir: c.stateDir,
		LDAP: ldapexport.Conn{URL: c.ldapURL, BindDN: c.bindDN, Password: bindPW, Timeout: c.timeout,
			CA: c.ldapCA, StartTLS: c.ldapStartTLS, InsecureSkipVerify: c.insecureSkipVerify},
		AdminID: rf.adminID, AdminPassword: adminPW, ServiceAdminID: rf.serviceAdminID, ServiceAdminPassword: svcPW,
		Yes: rf.yes, Resume: rf.resume, StopTimeout: rf.stopTimeout, QueueWatch: rf.queueWatch, DialogueTimeout: 2 * time.Minute,
		Collect:   func(ctx context.Context) (*facts.Snapshot, error) { return collectors.Collect(ctx, copts, nil) },
		Daemons:   func(ctx context.Context) ([]facts.Process, error) { return collectors.Daemons(ctx, copts) },
		ScanQueue: collectors.ScanQueue,
		Gate: func(ctx context.Context, phase string, in remediate.GateInput) (*judgement.Report, error) {
			started := time.Now()
			gopts := copts
			// Only what the upgrade logged after the restart is judged.
			gopts.MailLogSince = in.Since
			snap, err := collectors.Collect(ctx, gopts, nil)
			if err != nil {
				return nil, err
			}
			p := policies.Params{Phase: phase, ForRemediate: phase == "preflight", BackupNeedBytes: in.BackupNeedBytes, RestoreNeedBytes: in.RestoreNeedBytes}
			if !in.Since.IsZero() {
				p.Since = in.Since.UTC().Format(time.RFC3339)
			}
			if media := in.Media; media != nil {
				p.Media = &policies.Media{Path: media.Path, Version: media.Version, WebServer: media.WebServer, DA: media.DA, Error: media.Error}
			}
			rep, err := judge(cmd, engine, waivers, snap, p, started, false)
			if err != nil {
				return nil, err
			}
			if a.gateReports != "" {
				var buf bytes.Buffer
				if err := (reports.JSONRenderer{}).Render(&buf, rep); err == nil {
					_ = atomicfile.Write(filepath.Join(a.gateReports, "gate-"+phase+".json"), buf.Bytes(), 0o600)
				}
			}
			fmt.Fprintf(a.stdout, "  gate %s: %s (%d deny, %d warn, %d error, %d waived)\n", phase, rep.Verdict,
				rep.Summary.Deny, rep.Summary.Warn, rep.Summary.Error, rep.Summary.Waived)
			if rep.ExitCode == exitcode.NotReady {
				_ = text.Render(a.stdout, rep)
			}
			return rep, nil
		},
		In: a.stdin, Out: a.stdout, Log: a.log,
	}, nil
}
