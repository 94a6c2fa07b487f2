package sim

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"sort"
)

// Stdio is the standard streams of a simulated command.
type Stdio struct {
	In       io.Reader
	Out, Err io.Writer
}

// CtlFunc implements one verb of `msguard-sim ctl VERB --root ROOT [args]`,
// which the scripts inside a simulated root call (start-msg, stop-msg,
// imsimta, start-admin, stop-admin, https-start, https-stop, start-slapd,
// stop-slapd, db2ldif, ...).
type CtlFunc func(ctx context.Context, st *State, args []string, io Stdio) error

// ProgramFunc implements a program that the multi-call binary becomes when
// it runs under that name (a daemon such as "stored" or "ns-slapd", or a
// cluster CLI such as "hareg"). args excludes argv[0]; it returns the exit code.
type ProgramFunc func(ctx context.Context, args []string, io Stdio) int

// InstallerFunc implements an installer of the media
// (`msguard-sim installer KIND --media DIR [args]`): msg-setup,
// ims-dssetup, ws-setup, da-setup, da-uninstall.
type InstallerFunc func(ctx context.Context, media string, args []string, io Stdio) error

// ExitError is a failure that a command has already reported on its own
// output (an installer's "ERROR: <reason>"): msguard-sim exits with Code
// without printing it again.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }

// Unwrap returns the reported error.
func (e *ExitError) Unwrap() error { return e.Err }

var (
	ctlVerbs   = map[string]CtlFunc{}
	programs   = map[string]ProgramFunc{}
	installers = map[string]InstallerFunc{}
)

// RegisterCtl adds a ctl verb; called from init functions.
func RegisterCtl(verb string, f CtlFunc) { mustAdd(ctlVerbs, "ctl verb", verb, f) }

// RegisterProgram adds a multi-call program name; called from init functions.
func RegisterProgram(name string, f ProgramFunc) { mustAdd(programs, "program", name, f) }

// RegisterInstaller adds an installer kind; called from init functions.
func RegisterInstaller(kind string, f InstallerFunc) { mustAdd(installers, "installer", kind, f) }

func mustAdd[F any](m map[string]F, what, name string, f F) {
	if _, dup := m[name]; dup {
		panic(fmt.Sprintf("sim: %s %q registered twice", what, name))
	}
	m[name] = f
}

// Program returns the program the binary should become when invoked as
// argv0 (by base name), if any.
func Program(argv0 string) (ProgramFunc, bool) {
	f, ok := programs[filepath.Base(argv0)]
	return f, ok
}

// Ctl runs a ctl verb against the host at root.
func Ctl(ctx context.Context, verb, root string, args []string, stdio Stdio) error {
	f, ok := ctlVerbs[verb]
	if !ok {
		return fmt.Errorf("unknown ctl verb %q (known: %v)", verb, keys(ctlVerbs))
	}
	st, err := LoadState(root)
	if err != nil {
		return err
	}
	return f(ctx, st, args, stdio)
}

// Install runs an installer of the media at dir.
func Install(ctx context.Context, kind, media string, args []string, stdio Stdio) error {
	f, ok := installers[kind]
	if !ok {
		return fmt.Errorf("unknown installer %q (known: %v)", kind, keys(installers))
	}
	return f(ctx, media, args, stdio)
}

func keys[F any](m map[string]F) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
