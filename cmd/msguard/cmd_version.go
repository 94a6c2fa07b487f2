package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/spf13/cobra"
)

func (a *app) versionCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print msguard's version, the commit it was built from and its date",
		Long: `version prints the release version (set when the release was built; "dev-<commit>"
for a development build), the commit the binary was built from, the commit's date, and whether
the source tree had uncommitted changes. Snapshots and reports carry the same version string.`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			info := buildinfo.Read()
			if asJSON {
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(info)
			}
			_, err := fmt.Fprint(a.stdout, versionText(info))
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the build information as one JSON object (docs/contract.md)")
	return cmd
}

// versionText is what `msguard version` and `msguard --version` print: the
// contract's first line `msguard VERSION (GOVERSION, OS/ARCH)`, then the
// commit, its date and whether the tree was modified.
func versionText(info buildinfo.Info) string {
	var b strings.Builder
	fmt.Fprintf(&b, "msguard %s (%s, %s/%s)\n", info.Version, info.GoVersion, info.OS, info.Arch)
	if info.Commit == "" {
		b.WriteString("commit unknown (built without version control information)\n")
		return b.String()
	}
	fmt.Fprintf(&b, "commit %s", info.Commit)
	if info.CommitTime != "" {
		fmt.Fprintf(&b, " (%s)", info.CommitTime)
	}
	if info.Modified {
		b.WriteString(", tree modified")
	}
	b.WriteString("\n")
	return b.String()
}
