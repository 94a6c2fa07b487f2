// Package collectors gathers host facts into a facts.Snapshot: one file per
// fact family (install, versions, processes, mounts, queue, store, configs,
// ldap, ha, maillog, run_state, mailflow). Collectors only read; they never
// change the host, but for the mail-flow probe, which sends one message to
// the probe account (given only to check --phase postflight and audit) and
// deletes it. A collector that fails records its error in the snapshot and
// leaves its facts nil, so policies can never read "missing" as "fine".
package collectors

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// Options is what the operator told msguard about the host (contract.md
// "common" flags). Secrets are never stored here as plain fields that
// could be printed: the bind password is fetched through a function.
type Options struct {
	ServerRoot    string
	WebServerRoot string // "" = ServerRoot when it holds https-admserv
	Instance      string // "budgie" or "msg-budgie"; "" = the only msg-* instance
	LDAPURL       string // "" = from install.inf
	BindDN        string // "" = cn=Directory Manager
	// BindPassword returns the directory manager's password (file,
	// environment or prompt). nil means no password is available.
	BindPassword       func() (string, error)
	LDAPCA             string
	LDAPStartTLS       bool
	InsecureSkipVerify bool
	// Timeout bounds each collector; 0 means 30s.
	Timeout time.Duration
	// BackupDir is the backup destination whose free space is collected ("" = none).
	BackupDir string
	// StateDir is msguard's state directory (lock, journal pointer, failure flag).
	StateDir string
	// MailLogSince limits mail.log records to those at or after it (zero: all).
	MailLogSince time.Time
	// Hostnames are this host's names for the same-machine check
	// ("" = os.Hostname and its DNS names).
	Hostnames []string
	// Path is the PATH searched for cluster CLIs ("" = the environment's).
	Path string
	// Probe is the mail-flow probe's account; nil skips the probe (its
	// facts say so).
	Probe *ProbeOptions
	// Only limits a run to these collectors (install always runs: it
	// resolves the target); nil runs them all. CheckOnly validates names.
	Only []string
	Log  *slog.Logger
}

// Target is the install being collected, resolved from Options and the
// server root by the install collector. It may hold secrets (install.inf
// passwords) and is never serialised.
type Target struct {
	Options
	Root     string // absolute, cleaned server root
	WSRoot   string // Web Server root ("" when there is none)
	Instance string // instance name without "msg-", e.g. "budgie"
	InstDir  string // Root/msg-<Instance>
	SlapdIDs []string
	// InstallInf is setup/install.inf parsed, passwords included.
	InstallInf map[string]map[string]string
	// host is where the collectors read the install.
	host Host
	// probeParent is the pid whose children are msguard's own probes (the
	// collecting process): the processes collector leaves them out.
	probeParent int
}

// CheckOnly reports the first name of only that is not a collector's.
func CheckOnly(only []string) error {
	for _, n := range only {
		if n == facts.CollectorInstall {
			continue
		}
		if !slices.ContainsFunc(registry, func(c registered) bool { return c.name == n }) {
			names := []string{facts.CollectorInstall}
			for _, c := range registry {
				names = append(names, c.name)
			}
			return fmt.Errorf("no collector %q (collectors: %s)", n, strings.Join(names, ", "))
		}
	}
	return nil
}

// collectFunc fills its own field of the snapshot. partial lists what it
// could not read although it produced facts; err means no facts at all.
type collectFunc func(ctx context.Context, t *Target, s *facts.Snapshot) (partial []string, err error)

// registered is one collector of the registry.
type registered struct {
	name string
	run  collectFunc
}

// registry is the one list of collectors: each reads its material through
// the Target's Host and decides its fact family (facts.Families names the
// field it fills). The install collector is not in it: it runs first
// (ResolveTargetOn) and resolves the Target the others read.
var registry = []registered{
	{facts.CollectorVersions, collectVersions},
	{facts.CollectorProcesses, collectProcesses},
	{facts.CollectorMounts, collectMounts},
	{facts.CollectorQueue, collectQueue},
	{facts.CollectorStore, collectStore},
	{facts.CollectorConfigs, collectConfigs},
	{facts.CollectorLDAP, collectLDAP},
	{facts.CollectorHA, collectHA},
	{facts.CollectorMailLog, collectMailLog},
	{facts.CollectorRunState, collectRunState},
	{facts.CollectorMailFlow, collectMailFlow},
}
