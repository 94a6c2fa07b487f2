package main

import (
	"context"
	"slices"
	"strings"

	"github.com/msguard/msguard/policies"
	"github.com/msguard/msguard/reports"
	"github.com/spf13/cobra"
)

// checkPhases are the phases msguard check judges: every policy phase but
// audit, which is msguard audit's.
var checkPhases = slices.DeleteFunc(slices.Clone(policies.Phases), func(p string) bool { return p == "audit" })

// historyFormats are the formats of msguard audit history.
var historyFormats = []string{"text", "json"}

// dirFlags and fileFlags name the flags whose value is a directory or a
// file, whatever the command: the shells complete paths for them.
var (
	dirFlags  = []string{"server-root", "webserver-root", "backup-dir", "state-dir", "media", "scratch", "overlay", "policy", "history"}
	fileFlags = map[string][]string{
		"bind-password-file": nil, "admin-password-file": nil, "service-admin-password-file": nil, "ldap-ca": {"pem", "crt"},
		"snapshot": {"json"}, "baseline": {"json"}, "from": {"json"}, "waivers": {"yaml", "yml"}, "data": {"yaml", "yml", "json"},
		"output": nil, "metrics-file": {"prom"},
	}
)

// registerCompletions teaches cobra's completion command (bash, zsh, fish,
// powershell) what msguard's flag values and arguments are: phases,
// report formats, FORMAT=FILE, finding keys, files and directories.
func registerCompletions(root *cobra.Command) {
	walkCommands(root, func(cmd *cobra.Command) {
		f := cmd.Flags()
		for _, name := range dirFlags {
			if f.Lookup(name) != nil {
				mustFlag(cmd.MarkFlagDirname(name))
			}
		}
		path := strings.TrimPrefix(cmd.CommandPath(), root.Name()+" ")
		for name, exts := range fileFlags {
			if path == "audit history" && name == "from" {
				continue // a run's name, not a file
			}
			if f.Lookup(name) != nil && f.Lookup(name).Value.Type() != "bool" {
				mustFlag(cmd.MarkFlagFilename(name, exts...))
			}
		}
		if f.Lookup("format") != nil {
			formats := reports.Formats()
			if path == "audit history" {
				formats = historyFormats
			}
			mustFlag(cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp)))
		}
		if f.Lookup("report") != nil {
			mustFlag(cmd.RegisterFlagCompletionFunc("report", completeReportFlag))
		}
		if path == "check" {
			mustFlag(cmd.RegisterFlagCompletionFunc("phase", cobra.FixedCompletions(checkPhases, cobra.ShellCompDirectiveNoFileComp)))
		}
		if path == "policy list" {
			cmd.ValidArgsFunction = completeFindingKeys
		}
	})
}

// completeReportFlag completes --report FORMAT=FILE: the format first,
// then the file.
func completeReportFlag(_ *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if strings.Contains(toComplete, "=") {
		return nil, cobra.ShellCompDirectiveDefault
	}
	var out []cobra.Completion
	for _, f := range reports.Formats() {
		out = append(out, f+"=")
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// completeFindingKeys offers the finding keys of msguard's own policies,
// with each key's title as its description (zsh and fish show it).
func completeFindingKeys(_ *cobra.Command, args []string, _ string) ([]cobra.Completion, cobra.ShellCompDirective) {
	e, err := policies.New(context.Background(), policies.Config{})
	if err != nil {
		cobra.CompErrorln(err.Error())
		return nil, cobra.ShellCompDirectiveError
	}
	var out []cobra.Completion
	seen := map[string]bool{}
	for _, a := range args {
		seen[a] = true
	}
	for _, r := range e.Rules() {
		if !seen[r.Key] {
			seen[r.Key] = true
			out = append(out, cobra.CompletionWithDesc(r.Key, r.Title))
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
