package main

import (
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/msguard/msguard/internal/exitcode"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// app holds what every command shares: the streams and the common flags.
type app struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	common         commonFlags
	log            *slog.Logger
	// gateReports, when set, is where remediate's gates also write their
	// reports as JSON (gate-PHASE.json): the rehearsal's twin sets it.
	gateReports string
}

func newApp(stdin io.Reader, stdout, stderr io.Writer) *app {
	return &app{stdin: stdin, stdout: stdout, stderr: stderr}
}

// commonFlags are contract.md's "common" flags.
type commonFlags struct {
	webserverRoot      string
	instance           string
	ldapURL            string
	bindDN             string
	bindPasswordFile   string
	ldapCA             string
	ldapStartTLS       bool
	insecureSkipVerify bool
	timeout            time.Duration
	logFormat          string
	logLevel           string
	quiet              bool
	noProgress         bool
	stateDir           string
}

// addCommonFlags registers the common flags on a command.
func (a *app) addCommonFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	c := &a.common
	f.StringVar(&c.webserverRoot, "webserver-root", "", "Web Server root (default: the server root when it holds https-admserv)")
	f.StringVar(&c.instance, "instance", "", "messaging instance, e.g. budgie or msg-budgie (default: the only msg-*)")
	f.StringVar(&c.ldapURL, "ldap-url", "", "directory URL (default: UserDirectoryLdapURL of install.inf)")
	f.StringVar(&c.bindDN, "bind-dn", "cn=Directory Manager", "DN to bind to the directory as")
	f.StringVar(&c.bindPasswordFile, "bind-password-file", "", "file holding the bind password (mode 0600; else env MSGUARD_BIND_PASSWORD or a prompt)")
	f.StringVar(&c.ldapCA, "ldap-ca", "", "CA certificate (PEM) that signed the directory's certificate")
	f.BoolVar(&c.ldapStartTLS, "ldap-starttls", false, "require StartTLS on ldap:// URLs (never falls back to plaintext)")
	f.BoolVar(&c.insecureSkipVerify, "insecure-skip-verify", false, "do not verify the directory's certificate (testing only)")
	f.DurationVar(&c.timeout, "timeout", 30*time.Second, "time limit for each collector")
	f.StringVar(&c.stateDir, "state-dir", "/var/lib/msguard", "msguard's state directory (lock, journal pointer, failure flag)")
}

func (a *app) rootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "msguard",
		Short: "Guard the iPlanet Messaging Server 5.x → 5.2 upgrade: check, remediate, audit",
		Long: `msguard checks an iPlanet Messaging Server 5.x host before the upgrade window,
carries out the vendor's upgrade runbook with a verified backup and backout, and
audits the upgraded host's health afterwards.`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			return a.setupLogging()
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	pf := root.PersistentFlags()
	pf.StringVar(&a.common.logFormat, "log-format", "text", "log format on stderr: text or json")
	pf.StringVar(&a.common.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	pf.BoolVarP(&a.common.quiet, "quiet", "q", false, "print only errors and the result")
	pf.BoolVar(&a.common.noProgress, "no-progress", false, "never show progress bars")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return exitcode.Usagef("%v (see %s --help)", err, cmd.CommandPath())
	})
	root.SetHelpTemplate(root.HelpTemplate() + "\n" + exitcode.Table + "\n")
	// Every command, in one place.
	root.AddCommand(
		a.collectCmd(), a.checkCmd(), a.remediateCmd(), a.backoutCmd(), a.rehearseCmd(), a.rehearseTwinCmd(), a.auditCmd(),
		a.reportCmd(), a.policyCmd(), a.ingestCmd(), a.versionCmd(), a.backupCmd(),
	)
	a.finishCommandTree(root)
	return root
}

// usageArgs makes an argument validator's error a usage error (exit 2).
func usageArgs(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		return exitcode.Wrap(exitcode.Usage, v(cmd, args))
	}
}

// setupLogging builds the slog logger from --log-format and --log-level.
func (a *app) setupLogging() error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(a.common.logLevel)); err != nil {
		return exitcode.Usagef("--log-level %q: want debug, info, warn or error", a.common.logLevel)
	}
	if a.common.quiet && level < slog.LevelError {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level}
	switch a.common.logFormat {
	case "text":
		a.log = slog.New(slog.NewTextHandler(a.stderr, opts))
	case "json":
		a.log = slog.New(slog.NewJSONHandler(a.stderr, opts))
	default:
		return exitcode.Usagef("--log-format %q: want text or json", a.common.logFormat)
	}
	return nil
}

// stderrIsTerminal reports whether progress may be drawn.
func (a *app) stderrIsTerminal() bool {
	if a.common.noProgress {
		return false
	}
	f, ok := a.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// unwrapPathErr drops the "open FILE:" prefix that messages name already.
func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
