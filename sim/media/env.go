package media

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/tree"
)

// env is what the installers use from the rest of the simulator. The
// production env binds to the real directory; tests replace the directory
// operations with fakes.
type env struct {
	// bind dials url and binds as dn (anonymously when dn is "").
	bind func(ctx context.Context, url, dn, password string) error
	// dsURL is the LDAP URL of slapd-<id>.
	dsURL func(st *sim.State, id string) string
	// applyDSSetup adds the messaging schema, indexes and o=pab.
	applyDSSetup func(ctx context.Context, st *sim.State, id, dmPassword string) error
	// writeMsgConfig writes INST/config/msg.conf and local.conf.
	writeMsgConfig func(st *sim.State, withCustomizations bool) error
	// writeIMTAConfig writes INST/imta/config.
	writeIMTAConfig func(st *sim.State, withCustomizations bool) error
	// writeHTML writes INST/html.
	writeHTML func(st *sim.State, withCustomizations bool) error
	// writeVersionFiles writes slapd.inf and nda.inf from the State.
	writeVersionFiles func(st *sim.State) error
	now               func() time.Time
}

// prodEnv is the env of the installers that msguard-sim runs.
var prodEnv = env{
	bind:              directory.Bind,
	dsURL:             directory.URL,
	applyDSSetup:      directory.ApplyDSSetup,
	writeMsgConfig:    tree.WriteMsgConfig,
	writeIMTAConfig:   tree.WriteIMTAConfig,
	writeHTML:         tree.WriteHTML,
	writeVersionFiles: tree.WriteVersionFiles,
	now:               time.Now,
}

// failf is an installer failure, printed as "ERROR: <reason>".
func failf(format string, args ...any) error { return fmt.Errorf(format, args...) }

// installerBody is an installer's work once its dialogue is set up.
type installerBody func(ctx context.Context, e env, media string, args []string, d *dialogue) error

// installer adapts a body to sim.InstallerFunc: a failure is printed as
// "ERROR: <reason>" on stdout and becomes a *sim.ExitError with code 1, so
// msguard-sim exits non-zero without printing it again.
func installer(e env, body installerBody) sim.InstallerFunc {
	return func(ctx context.Context, media string, args []string, stdio sim.Stdio) error {
		return runInstaller(ctx, e, body, media, args, stdio)
	}
}

func runInstaller(ctx context.Context, e env, body installerBody, media string, args []string, stdio sim.Stdio) error {
	d := newDialogue(stdio.In, stdio.Out)
	if err := body(ctx, e, media, args, d); err != nil {
		fmt.Fprintf(stdio.Out, "ERROR: %v\n", err)
		return &sim.ExitError{Code: 1, Err: err}
	}
	return nil
}

// loadRoot loads the simulated host whose server root is dir.
func loadRoot(dir string) (*sim.State, error) {
	if !filepath.IsAbs(dir) {
		return nil, failf("install location %q is not an absolute path", dir)
	}
	st, err := sim.LoadState(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, failf("%s is not an iPlanet server root (no existing installation found)", dir)
		}
		return nil, failf("%s: %v", dir, err)
	}
	a, errA := os.Stat(dir)
	b, errB := os.Stat(st.Scenario.Root)
	if errA != nil || errB != nil || !os.SameFile(a, b) {
		return nil, failf("%s is a copy of the server root %s, not the installation itself", dir, st.Scenario.Root)
	}
	return st, nil
}

// timestamp is the YYYYMMDDhhmmss form the 5.2 setup names its backups and logs by.
func timestamp(t time.Time) string { return t.Format("20060102150405") }
