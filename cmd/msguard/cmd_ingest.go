package main

import (
	"fmt"
	"os"

	"github.com/msguard/msguard/collectors/script"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/spf13/cobra"
)

// ingestCmd turns the collector script's bundle into a snapshot.
func (a *app) ingestCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "ingest BUNDLE [-o snapshot.json]",
		Short: "Turn a `collect --emit-script` bundle into a snapshot (msguard.snapshot/v1)",
		Long: `ingest reads the bundle that the collector script of ` + "`msguard collect --emit-script`" + `
wrote on a host where msguard cannot run (tar+gzip or plain text; - reads stdin)
and writes the snapshot msguard collect would have taken there, for check
--snapshot, audit --baseline and every report. What the script could not gather
(the greetings and Server headers, ldapsearch missing, ...) is an error in the
snapshot, never a pass.`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := a.stdin
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return exitcode.Usagef("bundle %s: %v", args[0], err)
				}
				defer f.Close()
				in = f
			}
			snap, err := script.Ingest(cmd.Context(), in)
			if err != nil {
				return fmt.Errorf("ingest %s: %w", args[0], err)
			}
			for _, fe := range snap.Errors() {
				a.log.Warn("fact not collected", "collector", fe.Collector, "error", fe.Error)
			}
			return writeSnapshot(snap, out, a)
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "-", "write the snapshot to FILE (- = stdout)")
	return cmd
}
