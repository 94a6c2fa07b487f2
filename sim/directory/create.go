package directory

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterCreateStep(sim.OrderDirectory, "directory", Create)
	sim.RegisterTeardown(50, "directory", Teardown)
}

// Create is the "directory" create step: it links ns-slapd to the
// simulator binary already in the root and builds every slapd-<id>
// instance (config, scripts, seeded data) of the backend. Nothing is
// left running. It does nothing when the directory is external.
func Create(ctx context.Context, st *sim.State, binary string, log io.Writer) error {
	sc := &st.Scenario
	if sc.DSExternal {
		return nil
	}
	p := st.Paths()
	if err := linkNsSlapd(p); err != nil {
		return err
	}
	if sc.DSBackend == "389" && len(sc.DSInstances) > 1 {
		return fmt.Errorf("389 backend: one slapd instance at a time on a machine, scenario has %d", len(sc.DSInstances))
	}
	for _, in := range instances(st) {
		for _, d := range []string{"config", "db", "logs", "ldif"} {
			if err := os.MkdirAll(filepath.Join(in.Dir, d), 0o755); err != nil {
				return fmt.Errorf("create slapd-%s: %w", in.ID, err)
			}
		}
		if err := writeScripts(p, in); err != nil {
			return err
		}
		var err error
		switch sc.DSBackend {
		case "389":
			err = create389(ctx, st, in, log)
		default:
			err = createOpenLDAP(ctx, st, in)
		}
		if err != nil {
			return fmt.Errorf("create slapd-%s: %w", in.ID, err)
		}
		fmt.Fprintf(log, "directory: slapd-%s (%s) serves %s on port %d\n", in.ID, sc.DSBackend,
			strings.Join(in.Suffixes, ", "), in.Port)
	}
	return nil
}

// linkNsSlapd hard-links ROOT/bin/slapd/server/ns-slapd to the simulator
// binary in the root, so /proc/<pid>/exe of the DS is under ROOT.
func linkNsSlapd(p sim.Paths) error {
	if _, err := os.Stat(p.SimBinary()); err != nil {
		return fmt.Errorf("link ns-slapd: simulator binary: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(p.NsSlapd()), 0o755); err != nil {
		return fmt.Errorf("link ns-slapd: %w", err)
	}
	if err := os.Remove(p.NsSlapd()); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("link ns-slapd: %w", err)
	}
	if err := os.Link(p.SimBinary(), p.NsSlapd()); err != nil {
		return fmt.Errorf("link ns-slapd: %w", err)
	}
	return nil
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// writeScripts writes start-slapd, stop-slapd and db2ldif of in.
func writeScripts(p sim.Paths, in instance) error {
	for _, verb := range []string{"start-slapd", "stop-slapd", "db2ldif"} {
		script := fmt.Sprintf("#!/bin/sh\nexec %s ctl --root %s %s %s \"$@\"\n",
			shellQuote(p.SimBinary()), shellQuote(p.Root), verb, shellQuote(in.ID))
		if err := os.WriteFile(filepath.Join(in.Dir, verb), []byte(script), 0o755); err != nil {
			return fmt.Errorf("write slapd-%s/%s: %w", in.ID, verb, err)
		}
	}
	return nil
}
