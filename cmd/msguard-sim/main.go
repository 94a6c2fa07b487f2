// Command msguard-sim creates and runs a simulated iPlanet Messaging
// Server 5.x host for msguard's tests and demo. The same binary is copied
// into the simulated root, where it runs as the install's daemons
// (stored, dispatcher, ns-slapd, ...), scripts and cluster CLIs.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/msguard/msguard/sim"
	_ "github.com/msguard/msguard/sim/all"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/procs"
	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	stdio := sim.Stdio{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
	if prog, ok := sim.Program(os.Args[0]); ok {
		os.Exit(prog(ctx, os.Args[1:], stdio))
	}
	if err := rootCmd(stdio).ExecuteContext(ctx); err != nil {
		var reported *sim.ExitError
		if errors.As(err, &reported) {
			os.Exit(reported.Code)
		}
		fmt.Fprintln(os.Stderr, "msguard-sim:", err)
		os.Exit(1)
	}
}

func rootCmd(stdio sim.Stdio) *cobra.Command {
	root := &cobra.Command{
		Use:           "msguard-sim",
		Short:         "A simulated iPlanet Messaging Server 5.x host on a real directory server",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(createCmd(), mediaCmd(), lifecycleCmd("start", procs.Start), lifecycleCmd("stop", procs.Stop),
		lifecycleCmd("destroy", procs.Destroy), ctlCmd(stdio), installerCmd(stdio), faultCmd())
	return root
}

func selfBinary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", fmt.Errorf("find own executable: %w", err)
	}
	return exe, nil
}

func createCmd() *cobra.Command {
	var sc sim.Scenario
	var scenarioFile, maillog, dsInstances string
	var start bool
	cmd := &cobra.Command{
		Use:   "create --root DIR [options]",
		Short: "Write a complete simulated server root (nothing is started unless --start)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			base := sim.Scenario{}
			if scenarioFile != "" {
				var err error
				if base, err = sim.LoadScenario(scenarioFile); err != nil {
					return err
				}
			}
			applyChanged(cmd, &base, &sc)
			if cmd.Flags().Changed("ds-instances") {
				base.DSInstances = strings.Split(dsInstances, ",")
			}
			if cmd.Flags().Changed("maillog") {
				if err := parseMailLogMix(maillog, &base.MailLog); err != nil {
					return err
				}
			}
			bin, err := selfBinary()
			if err != nil {
				return err
			}
			st, err := sim.Create(cmd.Context(), base, bin, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if start {
				if err := procs.Start(cmd.Context(), st.Scenario.Root, cmd.ErrOrStderr()); err != nil {
					return err
				}
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created %s (Messaging %s, DS %s, LDAP 127.0.0.1:%d)\n",
				st.Scenario.Root, st.MsgVersion, st.DSVersion, st.Scenario.Ports.LDAP)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&scenarioFile, "scenario", "", "YAML scenario file (flags override it)")
	f.StringVar(&sc.Root, "root", "", "server root to create (absolute path)")
	f.StringVar(&sc.WebServerRoot, "webserver-root", "", "Web Server root (default: the server root)")
	f.StringVar(&sc.Host, "host", "", "FullMachineName (default: this host)")
	f.StringVar(&sc.Instance, "instance", "", "messaging instance name (default budgie)")
	f.StringVar(&sc.MsgVersion, "msg-version", "", `Messaging Server version: 5.0, 5.1, 5.2, "5.2 HotFix 1.02"`)
	f.StringVar(&sc.DSVersion, "ds-version", "", "Directory Server version: 4.13 or 4.16")
	f.StringVar(&dsInstances, "ds-instances", "", "slapd instance ids, comma separated (at most two)")
	f.StringVar(&sc.DSBackend, "ds-backend", "", "real directory behind slapd-*: openldap or 389")
	f.StringVar(&sc.WebServer, "webserver", "", "Web Server version: 4.1, 6.0SP1, 6.0SP2 (empty: none)")
	f.StringVar(&sc.DA, "da", "", "Delegated Administrator version: 1.1, 1.2 (empty: none)")
	f.StringVar(&sc.HA, "ha", "", "cluster: none, sc22, vcs, sc3")
	f.IntVar(&sc.Queue.Messages, "queue", 0, "queued messages")
	f.IntVar(&sc.Queue.Held, "held", 0, "of which .HELD")
	f.IntVar(&sc.Queue.Temp, "temp", 0, "extra $ temp files in the queue")
	f.IntVar(&sc.Queue.Subdirs, "subdirs", 0, "numbered subdirectories per queue channel")
	f.IntVar(&sc.Users, "users", 0, "mail recipients in the directory")
	f.IntVar(&sc.PAB, "pab", 0, "personal address book entries")
	f.IntVar(&sc.Store.Mailboxes, "mailboxes", 0, "mailboxes in the store (default: users)")
	f.BoolVar(&sc.Store.Mount, "store-mount", false, "put the store on a loop-mounted ext4 image (root only)")
	f.StringVar(&maillog, "maillog", "", "mail.log_current record mix, e.g. E=10,D=8,Q=2,R=1,J=1,B=0,garbage=1")
	f.StringVar(&sc.Fail.SetupAfter, "fail-setup-after", "", "make setup -k fail after: backup or binaries")
	f.BoolVar(&start, "start", false, "start the services after creating")
	return cmd
}

// applyChanged copies into dst the flag-bound fields of src whose flags were set.
func applyChanged(cmd *cobra.Command, dst, src *sim.Scenario) {
	set := func(name string, apply func()) {
		if cmd.Flags().Changed(name) {
			apply()
		}
	}
	set("root", func() { dst.Root = src.Root })
	set("webserver-root", func() { dst.WebServerRoot = src.WebServerRoot })
	set("host", func() { dst.Host = src.Host })
	set("instance", func() { dst.Instance = src.Instance })
	set("msg-version", func() { dst.MsgVersion = src.MsgVersion })
	set("ds-version", func() { dst.DSVersion = src.DSVersion })
	set("ds-backend", func() { dst.DSBackend = src.DSBackend })
	set("webserver", func() { dst.WebServer = src.WebServer })
	set("da", func() { dst.DA = src.DA })
	set("ha", func() { dst.HA = src.HA })
	set("queue", func() { dst.Queue.Messages = src.Queue.Messages })
	set("held", func() { dst.Queue.Held = src.Queue.Held })
	set("temp", func() { dst.Queue.Temp = src.Queue.Temp })
	set("subdirs", func() { dst.Queue.Subdirs = src.Queue.Subdirs })
	set("users", func() { dst.Users = src.Users })
	set("pab", func() { dst.PAB = src.PAB })
	set("mailboxes", func() { dst.Store.Mailboxes = src.Store.Mailboxes })
	set("store-mount", func() { dst.Store.Mount = src.Store.Mount })
	set("fail-setup-after", func() { dst.Fail.SetupAfter = src.Fail.SetupAfter })
}

func parseMailLogMix(s string, m *sim.MailLogSpec) error {
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(v)
		if !ok || err != nil || n < 0 {
			return fmt.Errorf("--maillog %q: want CODE=N pairs such as E=10,J=1", part)
		}
		switch strings.ToUpper(k) {
		case "E":
			m.E = n
		case "D":
			m.D = n
		case "Q":
			m.Q = n
		case "R":
			m.R = n
		case "J":
			m.J = n
		case "B":
			m.B = n
		case "GARBAGE":
			m.Garbage = n
		default:
			return fmt.Errorf("--maillog: unknown code %q (want E, D, Q, R, J, B or garbage)", k)
		}
	}
	return nil
}

func mediaCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "media --dir DIR",
		Short: "Write the Messaging Server 5.2 installer media (setup -k, ims_dssetup.pl, Web Server 6.0 SP2, DA 1.2, SUNWscims)",
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				return fmt.Errorf("--dir is required")
			}
			bin, err := selfBinary()
			if err != nil {
				return err
			}
			return media.WriteMedia(dir, bin)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "directory to write the media into")
	return cmd
}

func lifecycleCmd(verb string, f func(context.Context, string, io.Writer) error) *cobra.Command {
	var root string
	short := map[string]string{
		"start":   "Start the host's services through its own scripts (directory first)",
		"stop":    "Stop the host's services through its own scripts",
		"destroy": "Stop everything the host started, unmount its store and remove the tree",
	}[verb]
	cmd := &cobra.Command{
		Use:   verb + " --root DIR",
		Short: short,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if root == "" {
				return fmt.Errorf("--root is required")
			}
			return f(cmd.Context(), root, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "server root of the simulated host")
	return cmd
}

// faultCmd plants or clears a mail-flow fault on a created host; the
// running daemons see it at once (sim.PlantFault).
func faultCmd() *cobra.Command {
	var root string
	var clear bool
	cmd := &cobra.Command{
		Use:   "fault --root DIR [--clear] NAME [DOMAIN]",
		Short: "Plant (or --clear) a mail-flow fault: " + strings.Join(sim.MailFlowFaults, ", ") + " (DOMAIN: the refused domain)",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if root == "" {
				return fmt.Errorf("--root is required")
			}
			domain := ""
			if len(args) == 2 {
				domain = args[1]
			}
			return sim.PlantFault(root, args[0], domain, !clear)
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "server root of the simulated host")
	cmd.Flags().BoolVar(&clear, "clear", false, "clear the fault instead of planting it")
	return cmd
}

func ctlCmd(stdio sim.Stdio) *cobra.Command {
	var root string
	cmd := &cobra.Command{
		Use:    "ctl VERB --root DIR [-- ARGS]",
		Short:  "Run one of the install's scripts (called by the scripts inside a simulated root)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sim.Ctl(cmd.Context(), args[0], root, args[1:], stdio)
		},
	}
	cmd.Flags().StringVar(&root, "root", "", "server root")
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func installerCmd(stdio sim.Stdio) *cobra.Command {
	var media string
	cmd := &cobra.Command{
		Use:    "installer KIND --media DIR [-- ARGS]",
		Short:  "Run an installer of the media (called by the media's setup scripts)",
		Hidden: true,
		Args:   cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return sim.Install(cmd.Context(), args[0], media, args[1:], stdio)
		},
	}
	cmd.Flags().StringVar(&media, "media", "", "media directory")
	cmd.Flags().SetInterspersed(false)
	return cmd
}
