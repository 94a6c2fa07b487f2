package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/policies"
	"github.com/spf13/cobra"
)

func (a *app) policyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "List msguard's policies or run policy tests",
	}
	var dirs, data []string
	list := &cobra.Command{
		Use:   "list [KEY]...",
		Short: "Print every finding key (or the given ones) with its phase, severity and title",
		RunE: func(cmd *cobra.Command, keys []string) error {
			e, err := policies.New(cmd.Context(), policies.Config{PolicyDirs: dirs, DataFiles: data})
			if err != nil {
				return err
			}
			rules := e.Rules()
			for _, k := range keys {
				if !slices.ContainsFunc(rules, func(r policies.Rule) bool { return r.Key == k }) {
					return exitcode.Usagef("policy list: no policy has the key %q (msguard policy list prints them all)", k)
				}
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "KEY\tPHASE\tSEVERITY\tNEEDS\tTITLE")
			for _, r := range rules {
				if len(keys) > 0 && !slices.Contains(keys, r.Key) {
					continue
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Key, r.Phase, r.Severity, strings.Join(r.Needs, ","), r.Title)
			}
			return tw.Flush()
		},
	}
	list.Flags().StringArrayVar(&dirs, "policy", nil, "also list the policies of DIR (repeatable)")
	list.Flags().StringArrayVar(&data, "data", nil, "policy data FILE (repeatable)")

	var testData []string
	var verbose bool
	test := &cobra.Command{
		Use:   "test [DIR]...",
		Short: "Run Rego tests (*_test.rego): msguard's own, or those of the given directories",
		Long: `test runs the *_test.rego files of the given policy directories with msguard's
policies, helpers (data.msguard.lib) and fixtures (data.msguard.fixtures) loaded;
without a directory it runs msguard's own tests. Exit 0 when all pass, 1 when a
test fails, 2 when a policy does not compile.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			results, err := policies.RunTests(cmd.Context(), args, testData)
			if err != nil {
				return err
			}
			failed := 0
			for _, r := range results {
				if !r.Pass {
					failed++
					msg := r.Error
					if msg == "" {
						msg = "failed"
					}
					fmt.Fprintf(a.stdout, "FAIL %s (%s): %s\n", r.Name, r.Location, msg)
				} else if verbose {
					fmt.Fprintf(a.stdout, "PASS %s (%s)\n", r.Name, r.Duration)
				}
			}
			fmt.Fprintf(a.stdout, "%d passed, %d failed\n", len(results)-failed, failed)
			if len(results) == 0 {
				return exitcode.Usagef("no Rego tests found (files named *_test.rego with rules test_*)")
			}
			if failed > 0 {
				return exitcode.Wrap(exitcode.Runtime, errSilent)
			}
			return nil
		},
	}
	test.Flags().StringArrayVar(&testData, "data", nil, "policy data FILE (repeatable)")
	test.Flags().BoolVarP(&verbose, "verbose", "v", false, "list passing tests too")
	cmd.AddCommand(list, test)
	return cmd
}
