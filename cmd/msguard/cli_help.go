package main

import (
	"fmt"
	"strings"

	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// finishCommandTree is applied to the whole command tree once every
// command is added: --version, help that shows boolean flags as plain
// switches, each command's own text for the flags commands share, shell
// completion and the hidden man-page generator.
func (a *app) finishCommandTree(root *cobra.Command) {
	info := buildinfo.Read()
	root.Version = info.Version
	root.SetVersionTemplate(versionText(info))
	root.Flags().BoolP("version", "v", false, "print the version, the commit and its date (as msguard version does)")

	cobra.AddTemplateFunc("flagUsages", flagUsages)
	root.SetUsageTemplate(usageTemplate(root.UsageTemplate()))

	root.AddCommand(a.genManCmd())
	applyFlagHelp(root)
	registerCompletions(root)
}

// usageTemplate is cobra's usage template with the flag tables rendered by
// flagUsages instead of pflag's FlagUsages.
func usageTemplate(base string) string {
	t := strings.NewReplacer(
		"{{.LocalFlags.FlagUsages", "{{flagUsages .LocalFlags",
		"{{.InheritedFlags.FlagUsages", "{{flagUsages .InheritedFlags",
	).Replace(base)
	if strings.Count(t, "{{flagUsages ") != 2 {
		panic("cobra's usage template changed: its flag tables are no longer {{.LocalFlags.FlagUsages}} and {{.InheritedFlags.FlagUsages}}")
	}
	return t
}

// flagUsages is pflag's flag table with boolean flags shown as switches
// ("--quiet"). pflag (since v1.1.0, which msguard gets through OPA) writes
// "--quiet[=true|false]" for every flag whose value says IsBoolFlag; the
// copy here wraps those values so they do not say so, which changes the
// help only: parsing uses the command's own flag set.
func flagUsages(fs *pflag.FlagSet) string {
	shown := pflag.NewFlagSet("help", pflag.ContinueOnError)
	shown.SortFlags = fs.SortFlags
	fs.VisitAll(func(f *pflag.Flag) {
		c := *f
		if f.Value.Type() == "bool" {
			c.Value = switchValue{f.Value}
		}
		shown.AddFlag(&c)
	})
	return shown.FlagUsages()
}

// switchValue is a flag value without pflag's optional IsBoolFlag method:
// embedding the interface keeps only String, Set and Type.
type switchValue struct{ pflag.Value }

// flagHelp is what a flag that several commands share does in each of
// them, where the shared text (root.go's common flags, collect's
// --server-root and --backup-dir) would not say it. Keyed by the command's
// path below msguard, then the flag's name; flagHelp_test.go checks every
// entry names a flag the command has.
var flagHelp = map[string]map[string]string{
	"collect": {
		"backup-dir": "the backup destination: the snapshot records its free space (preflight judges whether the backups fit)",
		"state-dir":  "msguard's state directory: the snapshot records the last remediate run found there",
	},
	"check": {
		"backup-dir": "the backup destination: preflight judges whether the backups fit in its free space",
		"state-dir":  "msguard's state directory: a remediate run recorded there as in progress or failed is a preflight deny",
		"timeout":    "time limit for each collector (not with --snapshot)",
	},
	"remediate": {
		"server-root": "the iPlanet server root to upgrade, e.g. /usr/iplanet/server5",
		"backup-dir":  "where the backups and the journal go: a new or empty directory outside the server root (default: /var/backups/msguard/ROOTNAME-RUNID); the preflight gate checks the backups fit in its free space",
		"state-dir":   "msguard's state directory: the run's lock, the pointer to its journal (for --resume, backout and audit) and the failure flag",
		"timeout":     "time limit for each collector of the gates' snapshots, and for each LDAP request of backup.ldif",
		"data":        "add policy data from a YAML or JSON FILE to the gates (repeatable)",
		"waivers":     "waiver FILE applied to the gates (YAML: key, reason, approver, expires)",
	},
	"backout": {
		"server-root": "the iPlanet server root to restore, e.g. /usr/iplanet/server5",
		"backup-dir":  "the last remediate run's backup directory, only as a check: backout restores the backups of the last run of --server-root (found through --state-dir) and refuses a different directory",
		"state-dir":   "msguard's state directory: where the last remediate run of --server-root (its journal and backups) is found, and its lock",
	},
	"rehearse": {
		"server-root": "the iPlanet server root to rehearse the upgrade of (overlaid: production is never written)",
		"state-dir":   "production's state directory, only read into its first snapshot (the twin keeps its lock, journal pointer and failure flag in --scratch)",
		"timeout":     "time limit for each collector of the twin's gates",
		"data":        "add policy data from a YAML or JSON FILE to the twin's gates (repeatable)",
		"waivers":     "waiver FILE applied to the twin's gates (YAML: key, reason, approver, expires)",
		"policy":      "add the Rego policies of DIR to the twin's gates (repeatable)",
	},
	"audit": {
		"server-root": "the iPlanet server root of the upgraded host, e.g. /usr/iplanet/server5",
		"backup-dir":  "a backup destination whose free space the snapshot records (no audit policy judges it)",
		"state-dir":   "msguard's state directory: the last remediate run recorded there gives the default --baseline and the restart time",
	},
	"policy list": {
		"data": "add policy data from a YAML or JSON FILE (repeatable): what --policy DIR's rules need",
	},
	"policy test": {
		"data": "add policy data from a YAML or JSON FILE to the tests (repeatable)",
	},
}

// applyFlagHelp sets the texts of flagHelp on the tree's flags.
func applyFlagHelp(root *cobra.Command) {
	for path, flags := range flagHelp {
		cmd := findCommand(root, path)
		if cmd == nil {
			continue // flagHelp_test.go fails on it
		}
		for name, text := range flags {
			if f := cmd.Flags().Lookup(name); f != nil {
				f.Usage = text
			}
		}
	}
}

// findCommand returns the command at path ("policy list") below root.
func findCommand(root *cobra.Command, path string) *cobra.Command {
	cmd, rest, err := root.Find(strings.Fields(path))
	if err != nil || len(rest) != 0 || cmd.CommandPath() != root.Name()+" "+path {
		return nil
	}
	return cmd
}

// walkCommands calls fn on root and every command below it.
func walkCommands(root *cobra.Command, fn func(*cobra.Command)) {
	fn(root)
	for _, c := range root.Commands() {
		walkCommands(c, fn)
	}
}

// mustFlag panics when cmd has no flag name: a registration below that
// names a flag that is gone is a programming error the tests hit.
func mustFlag(err error) {
	if err != nil {
		panic(fmt.Sprintf("completion: %v", err))
	}
}
