package main

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/script"
	"github.com/msguard/msguard/internal/atomicfile"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/secret"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
)

// collectFlags are the flags of commands that collect from a live host.
type collectFlags struct {
	serverRoot string
	backupDir  string
	only       []string // collect --only
	// probeFlags are check's and audit's probe flags; probe is what they
	// resolved to (nil: no probe).
	probeFlags probeFlags
	probe      *collectors.ProbeOptions
}

func (a *app) collectCmd() *cobra.Command {
	var cf collectFlags
	var out string
	var emitScript bool
	cmd := &cobra.Command{
		Use:   "collect --server-root DIR [-o snapshot.json]",
		Short: "Snapshot the host's facts into one JSON document (msguard.snapshot/v1)",
		Long: `collect reads the install under --server-root — processes by executable path,
mounts and free space, queue, store, configuration (secrets redacted), versions from
every source, the directory over LDAP, cluster state, the MTA log — and writes one
JSON snapshot. A fact that cannot be collected is recorded as an error in the
snapshot, never as a pass. It changes nothing on the host.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if emitScript {
				return a.emitScript(cf)
			}
			snap, err := a.collect(cmd, cf)
			if err != nil {
				return err
			}
			return writeSnapshot(snap, out, a)
		},
	}
	a.addCommonFlags(cmd)
	a.addCollectFlags(cmd, &cf)
	cmd.Flags().StringVarP(&out, "output", "o", "-", "write the snapshot to FILE (- = stdout)")
	cmd.Flags().BoolVar(&emitScript, "emit-script", false, "write the POSIX sh collector script for hosts msguard cannot run on (see msguard ingest)")
	cmd.Flags().StringSliceVar(&cf.only, "only", nil, "run only these collectors (comma-separated, e.g. queue,processes; install always runs); the others are absent from the snapshot")
	return cmd
}

// emitScript writes the collector script to stdout, with the given flags
// as its defaults.
func (a *app) emitScript(cf collectFlags) error {
	c := a.common
	return script.Emit(a.stdout, script.Defaults{
		ServerRoot: cf.serverRoot, WebServerRoot: c.webserverRoot, Instance: c.instance,
		BackupDir: cf.backupDir, LDAPURL: c.ldapURL, BindDN: c.bindDN, StateDir: c.stateDir,
		LDAPStartTLS: c.ldapStartTLS,
	})
}

func (a *app) addCollectFlags(cmd *cobra.Command, cf *collectFlags) {
	cmd.Flags().StringVar(&cf.serverRoot, "server-root", "", "the iPlanet server root, e.g. /usr/iplanet/server5")
	cmd.Flags().StringVar(&cf.backupDir, "backup-dir", "", "backup destination whose free space is checked")
}

// collectOptions turns the flags into collector options. The bind password
// is read once, before any collector runs, so a bad password file stops
// the command (exit 2) instead of surfacing as a collector error.
func (a *app) collectOptions(cf collectFlags) (collectors.Options, error) {
	if cf.serverRoot == "" {
		return collectors.Options{}, exitcode.Usagef("--server-root is required: the directory that holds setup/install.inf, e.g. /usr/iplanet/server5")
	}
	root, err := filepath.Abs(cf.serverRoot)
	if err != nil {
		return collectors.Options{}, exitcode.Usagef("--server-root %s: %v", cf.serverRoot, err)
	}
	c := a.common
	src := secret.Source{
		What: "directory manager password", File: c.bindPasswordFile, FileFlag: "bind-password-file",
		Env: "MSGUARD_BIND_PASSWORD", Prompt: true,
	}
	pw, pwErr := src.Read()
	if pwErr != nil && !errors.Is(pwErr, secret.ErrNone) {
		return collectors.Options{}, pwErr
	}
	return collectors.Options{
		ServerRoot:         root,
		WebServerRoot:      c.webserverRoot,
		Instance:           c.instance,
		LDAPURL:            c.ldapURL,
		BindDN:             c.bindDN,
		BindPassword:       func() (string, error) { return pw, pwErr },
		LDAPCA:             c.ldapCA,
		LDAPStartTLS:       c.ldapStartTLS,
		InsecureSkipVerify: c.insecureSkipVerify,
		Timeout:            c.timeout,
		BackupDir:          cf.backupDir,
		StateDir:           c.stateDir,
		Probe:              cf.probe,
		Log:                a.log,
	}, nil
}

// collect takes a snapshot of the live host, with a progress bar on a terminal.
func (a *app) collect(cmd *cobra.Command, cf collectFlags) (*facts.Snapshot, error) {
	opts, err := a.collectOptions(cf)
	if err != nil {
		return nil, err
	}
	if cf.only != nil {
		if err := collectors.CheckOnly(cf.only); err != nil {
			return nil, exitcode.Usagef("--only: %v", err)
		}
		opts.Only = cf.only
	}
	var onDone func(string)
	if a.stderrIsTerminal() && !a.common.quiet {
		n := len(facts.AllCollectors)
		if opts.Only != nil {
			n = len(opts.Only) + 1 // and install
		}
		bar := progressbar.NewOptions(n,
			progressbar.OptionSetWriter(a.stderr), progressbar.OptionSetDescription("collecting"),
			progressbar.OptionClearOnFinish(), progressbar.OptionShowCount())
		defer bar.Finish()
		onDone = func(name string) { bar.Describe(name); _ = bar.Add(1) }
	}
	snap, err := collectors.Collect(cmd.Context(), opts, onDone)
	if err != nil {
		return nil, err
	}
	for _, fe := range snap.Errors() {
		a.log.Warn("fact not collected", "collector", fe.Collector, "error", fe.Error)
	}
	return snap, nil
}

// writeSnapshot writes the snapshot to path ("-" = stdout) atomically.
func writeSnapshot(snap *facts.Snapshot, path string, a *app) error {
	var buf bytes.Buffer
	if err := snap.Encode(&buf); err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	if path == "-" || path == "" {
		_, err := a.stdout.Write(buf.Bytes())
		return err
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write snapshot %s: %w", path, err)
	}
	return nil
}
