package media

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterInstaller("ws-setup", installer(prodEnv, wsSetup))
	sim.RegisterInstaller("da-uninstall", installer(prodEnv, daUninstall))
	sim.RegisterInstaller("da-setup", installer(prodEnv, daSetup))
}

// wsRootMarker is the file procs writes into a Web Server root that is not
// the server root; it names the server root.
const wsRootMarker = ".msguard-sim-root"

// daFiles are the Web Server instance config files that hold Delegated
// Administrator data; the DA uninstaller renames them to <name>.nda.
var daFiles = []string{"servlets.properties", "rules.properties", "contexts.properties"}

// loadWebRoot loads the host whose server root or Web Server root is dir.
func loadWebRoot(dir string) (*sim.State, error) {
	if b, err := os.ReadFile(filepath.Join(dir, wsRootMarker)); err == nil {
		st, err := loadRoot(strings.TrimSpace(string(b)))
		if err != nil {
			return nil, err
		}
		return st, nil
	}
	return loadRoot(dir)
}

// wsSetup is the iPlanet Web Server 6.0 SP2 setup: it upgrades an existing
// 6.0 Web Server in place and refuses 4.x, which can only be migrated.
func wsSetup(_ context.Context, _ env, _ string, _ []string, d *dialogue) error {
	ans, err := d.ask("Would you like to continue with installation?", "Yes")
	if err != nil {
		return err
	}
	if !yes(ans) {
		return failf("installation cancelled")
	}
	loc, err := d.ask("Install location", defaultRoot)
	if err != nil {
		return err
	}
	st, err := loadWebRoot(loc)
	if err != nil {
		return err
	}
	switch st.WebServer {
	case "":
		return failf("no iPlanet Web Server installed in %s", loc)
	case "4.1":
		return failf("Web Server 4.x cannot be upgraded to 6.0 SP2; migrate it")
	}
	inst := "https-" + st.Scenario.Host
	if ans, err = d.ask("Upgrade the existing Web Server instance "+inst+"?", "Yes"); err != nil {
		return err
	}
	if !yes(ans) {
		return failf("installation cancelled: %s was not upgraded", inst)
	}
	if st.Scenario.Fail.IsSilent(sim.SilentWSSetup) {
		// Simulated fault: the success lines, the old Web Server stays.
		d.say("iPlanet Web Server 6.0 SP2: "+inst+" upgraded.", "Installation complete.")
		return nil
	}
	st.WebServer = "6.0SP2"
	if err := st.Save(); err != nil {
		return failf("save simulator state: %v", err)
	}
	d.say("iPlanet Web Server 6.0 SP2: "+inst+" upgraded.", "Installation complete.")
	return nil
}

// daUninstall is the Delegated Administrator uninstaller: it renames the
// Web Server files holding DA data to *.nda and removes setup/nda/nda.inf.
func daUninstall(_ context.Context, e env, _ string, _ []string, d *dialogue) error {
	root, err := d.ask("Install location", defaultRoot)
	if err != nil {
		return err
	}
	st, err := loadRoot(root)
	if err != nil {
		return err
	}
	if st.DA == "" {
		return failf("no Delegated Administrator installed in %s", root)
	}
	ans, err := d.ask("Uninstall iPlanet Delegated Administrator "+st.DA+"?", "Yes")
	if err != nil {
		return err
	}
	if !yes(ans) {
		return failf("uninstall cancelled")
	}
	insts, err := webInstances(st)
	if err != nil {
		return err
	}
	for _, dir := range insts {
		for _, name := range daFiles {
			f := filepath.Join(dir, "config", name)
			if _, err := os.Stat(f); err != nil {
				continue
			}
			if err := os.Rename(f, f+".nda"); err != nil {
				return failf("save %s: %v", f, err)
			}
			d.say("Saved " + f + " as " + name + ".nda")
		}
	}
	st.DA = ""
	if err := e.writeVersionFiles(st); err != nil {
		return failf("remove nda.inf: %v", err)
	}
	if err := st.Save(); err != nil {
		return failf("save simulator state: %v", err)
	}
	d.say("Delegated Administrator uninstalled.")
	return nil
}

// daSetup installs Delegated Administrator 1.2; an older DA must be
// uninstalled first.
func daSetup(_ context.Context, e env, _ string, _ []string, d *dialogue) error {
	ans, err := d.ask("Would you like to continue with installation?", "Yes")
	if err != nil {
		return err
	}
	if !yes(ans) {
		return failf("installation cancelled")
	}
	root, err := d.ask("Install location", defaultRoot)
	if err != nil {
		return err
	}
	st, err := loadRoot(root)
	if err != nil {
		return err
	}
	if st.DA != "" {
		return failf("Delegated Administrator %s is installed: uninstall it first (da12/uninstall)", st.DA)
	}
	if st.Scenario.Fail.IsSilent(sim.SilentDASetup) {
		// Simulated fault: the success lines, nothing installed.
		d.say("iPlanet Delegated Administrator 1.2 installed.", "Installation complete.")
		return nil
	}
	insts, err := webInstances(st)
	if err != nil {
		return err
	}
	for _, dir := range insts {
		f := filepath.Join(dir, "config", "servlets.properties")
		body := "# iPlanet Delegated Administrator for Messaging and Collaboration 1.2\n" +
			"servlet.nda.code=com.iplanet.ums.servlet.NDAServlet\n" +
			"servlet.nda.initArgs=configDir=" + filepath.Join(st.Scenario.Root, "nda", "config") + "\n"
		if err := sim.WriteFileAtomic(f, []byte(body), 0o644); err != nil {
			return failf("write %s: %v", f, err)
		}
	}
	st.DA = "1.2"
	if err := e.writeVersionFiles(st); err != nil {
		return failf("write nda.inf: %v", err)
	}
	if err := st.Save(); err != nil {
		return failf("save simulator state: %v", err)
	}
	d.say("iPlanet Delegated Administrator 1.2 installed.", "Installation complete.")
	return nil
}

// webInstances lists WSROOT/https-* except https-admserv that have a config/.
func webInstances(st *sim.State) ([]string, error) {
	ws := st.Scenario.WebServerRoot
	if ws == "" {
		ws = st.Scenario.Root
	}
	m, err := filepath.Glob(filepath.Join(ws, "https-*"))
	if err != nil {
		return nil, fmt.Errorf("list web server instances: %w", err)
	}
	var out []string
	for _, dir := range m {
		if filepath.Base(dir) == "https-admserv" {
			continue
		}
		if fi, err := os.Stat(filepath.Join(dir, "config")); err == nil && fi.IsDir() {
			out = append(out, dir)
		} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("web server instance %s: %w", dir, err)
		}
	}
	return out, nil
}
