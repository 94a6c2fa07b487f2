package main

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// genManCmd writes the man pages of the command tree (section 1): make
// release packages them. Hidden: it is for packagers, not operators.
func (a *app) genManCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "gen-man DIR",
		Short:  "Write msguard's man pages (msguard.1, msguard-check.1, ...) into DIR",
		Hidden: true,
		Args:   usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return exitcode.Usagef("gen-man: %v", err)
			}
			info := buildinfo.Read()
			header := &doc.GenManHeader{
				Section: "1",
				Source:  "msguard " + info.Version,
				Manual:  "msguard manual",
			}
			// The commit's date, not today's, so that two builds of one
			// commit write the same pages (SOURCE_DATE_EPOCH when the build
			// has no commit).
			if t, err := time.Parse(time.RFC3339, info.CommitTime); err == nil {
				header.Date = &t
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			// msguard(1) ends with the exit codes, as --help does (indented:
			// a preformatted block in the page).
			root.Long += "\n\n" + strings.ReplaceAll("\n"+strings.TrimRight(exitcode.Table, "\n"), "\n", "\n    ")
			if err := doc.GenManTree(root, header, dir); err != nil {
				return fmt.Errorf("gen-man: %w", err)
			}
			return nil
		},
	}
}
