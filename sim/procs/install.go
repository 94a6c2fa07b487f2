package procs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterCreateStep(sim.OrderPrograms, "programs", installPrograms)
}

// MsgDaemons are the messaging daemons under ROOT/bin/msg/lib, in the
// order start-msg starts them (tcp_smtp_server is started by dispatcher).
var MsgDaemons = []string{"job_controller", "dispatcher", "tcp_smtp_server", "stored", "imapd", "popd", "mshttpd", "enpd"}

// wsRootMarker is the file in a separate Web Server root that names the
// server root, so WSROOT/bin/https/bin/ns-httpd -v finds the state.
const wsRootMarker = ".msguard-sim-root"

// installPrograms copies the binary into the root, hard-links it as every
// daemon and writes the scripts.
func installPrograms(_ context.Context, st *sim.State, binary string, log io.Writer) error {
	p := st.Paths()
	if err := copyFile(binary, p.SimBinary(), 0o755); err != nil {
		return fmt.Errorf("install msguard-sim: %w", err)
	}
	links := []string{p.AdminNsHttpd()}
	for _, d := range MsgDaemons {
		links = append(links, filepath.Join(p.MsgLib(), d))
	}
	for _, l := range links {
		if err := linkOrCopy(p.SimBinary(), l); err != nil {
			return fmt.Errorf("install %s: %w", l, err)
		}
	}
	scripts := map[string]string{
		filepath.Join(p.Root, "start-admin"):  "start-admin",
		filepath.Join(p.Root, "stop-admin"):   "stop-admin",
		filepath.Join(p.Inst(), "start-msg"):  "start-msg",
		filepath.Join(p.Inst(), "stop-msg"):   "stop-msg",
		filepath.Join(p.Inst(), "imsimta"):    "imsimta",
		filepath.Join(p.Inst(), "configutil"): "configutil",
	}
	for path, verb := range scripts {
		if err := writeScript(p, path, verb); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(p.RunDir(), 0o755); err != nil {
		return fmt.Errorf("create run directory: %w", err)
	}
	if st.Scenario.WebServer != "" {
		if err := InstallWebServer(st); err != nil {
			return err
		}
		links = append(links, p.NsHttpd())
	}
	fmt.Fprintf(log, "programs: %d daemons linked to %s\n", len(links), p.SimBinary())
	return nil
}

// InstallWebServer installs the Web Server's programs: it links
// WSROOT/bin/https/bin/ns-httpd to the root's msguard-sim binary, writes
// WSROOT/https-admserv/{start,stop} and WSROOT/https-<Host>/{start,stop},
// and, when WSROOT is not the server root, the marker file that leads
// `ns-httpd -v` there to the server root's state. The create step calls it
// when the scenario has a Web Server; an installer that adds one later
// calls it too.
func InstallWebServer(st *sim.State) error {
	p := st.Paths()
	if p.NsHttpd() != p.AdminNsHttpd() {
		if err := linkOrCopy(p.SimBinary(), p.NsHttpd()); err != nil {
			return fmt.Errorf("install %s: %w", p.NsHttpd(), err)
		}
	}
	for _, name := range []string{"admserv", st.Scenario.Host} {
		dir := webInstDir(p, name)
		if err := writeScript(p, filepath.Join(dir, "start"), "https-start "+shQuote(name)); err != nil {
			return err
		}
		if err := writeScript(p, filepath.Join(dir, "stop"), "https-stop "+shQuote(name)); err != nil {
			return err
		}
	}
	if canon(p.WSRoot) != canon(p.Root) {
		if err := os.WriteFile(filepath.Join(p.WSRoot, wsRootMarker), []byte(p.Root+"\n"), 0o644); err != nil {
			return fmt.Errorf("write web server root marker: %w", err)
		}
	}
	return nil
}

// writeScript writes a sh wrapper that runs `msguard-sim ctl --root ROOT
// VERB "$@"`.
func writeScript(p sim.Paths, path, verb string) error {
	body := fmt.Sprintf("#!/bin/sh\nexec %s ctl --root %s %s \"$@\"\n", shQuote(p.SimBinary()), shQuote(p.Root), verb)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write script %s: %w", path, err)
	}
	if err := sim.WriteFileAtomic(path, []byte(body), 0o755); err != nil {
		return fmt.Errorf("write script %s: %w", path, err)
	}
	return nil
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// linkOrCopy hard-links src at dst (replacing dst), copying when they are
// on different filesystems.
func linkOrCopy(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	if err := os.Remove(dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	err := os.Link(src, dst)
	if errors.Is(err, syscall.EXDEV) || errors.Is(err, syscall.EPERM) {
		return copyFile(src, dst, 0o755)
	}
	return err
}

// copyFile copies src to dst through a temp file renamed into place, so a
// running copy of dst is never overwritten in place.
func copyFile(src, dst string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, in); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dst)
}
