package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterInstaller("msg-setup", installer(prodEnv, msgSetup))
}

// Default answers and fixed texts of the 5.2 setup dialogue (layout.md
// "Installer dialogues").
const (
	defaultRoot         = "/usr/iplanet/server5"
	defaultServiceAdmin = "ServiceAdmin"
	adminDNFormat       = "uid=%s,ou=Administrators,ou=TopologyManagement,o=NetscapeRoot"
	defaultUGSuffix     = "o=siroe.com"
)

var componentList = []string{
	"iPlanet Server Products components:",
	"   1. Netscape Server Products Core Components (3)",
	"   2. Netscape Directory Suite (2)",
	"   3. Administration Services (2)",
	"   4. iPlanet Messaging Suite (4)",
}

var existingInstanceBlock = []string{
	"This machine has a Messaging Server instance installed already. Please choose below whether you",
	"want to upgrade the existing server instance or create a new server instance.",
	"",
	"If you choose to create a new server instance, the configuration for the existing server instance",
	"will not be touched. If you choose to upgrade the existing server instance, any missing",
	"configuration will be detected and the configuration will be repaired if necessary.",
	"",
	"   [1]  Create New",
	"   [2]  Upgrade",
}

// setupRun is one run of setup -k after the dialogue.
type setupRun struct {
	st         *sim.State
	components []int
	msg        bool // component 4
	ds         bool // component 2
	configURL  string
	stamp      string
}

// msgSetup is `setup -k` of the Messaging Server 5.2 media.
func msgSetup(ctx context.Context, e env, media string, args []string, d *dialogue) (err error) {
	if !contains(args, "-k") {
		return failf("this setup only upgrades an existing installation here: run it as setup -k")
	}
	ans, err := d.ask("Would you like to continue with installation?", "Yes")
	if err != nil {
		return err
	}
	if !yes(ans) {
		return failf("installation cancelled")
	}
	if ans, err = d.ask("Do you agree to the license terms?", "No"); err != nil {
		return err
	}
	if !yes(ans) {
		return failf("the license terms were not accepted")
	}
	if ans, err = d.ask("Choose an installation type: 1. Express 2. Typical 3. Custom", "2"); err != nil {
		return err
	}
	if ans != "1" && ans != "2" && ans != "3" {
		return failf("installation type %q: choose 1, 2 or 3", ans)
	}
	root, err := d.ask("Install location", defaultRoot)
	if err != nil {
		return err
	}
	st, err := loadRoot(root)
	if err != nil {
		return err
	}
	r := &setupRun{st: st}
	// The log goes to ROOT/setup/msg whatever happens from here on.
	r.stamp = freeStamp(e, st.Paths())
	defer func() { writeSetupLog(st.Paths(), "upgrade-"+r.stamp+".log", d, err) }()

	d.say(componentList...)
	if ans, err = d.ask("Specify the components you wish to install", "All"); err != nil {
		return err
	}
	if r.components, err = parseComponents(ans); err != nil {
		return err
	}
	r.ds = contains(intStrings(r.components), "2")
	r.msg = contains(intStrings(r.components), "4")
	if r.msg && !r.ds && st.DSVersion != "4.16" {
		return failf("components 1, 3, 4 need Directory Server 4.16, found %s: upgrade it first (components 1, 2, 3) or choose 1, 2, 3, 4", st.DSVersion)
	}
	p := st.Paths()
	if r.msg {
		if _, err := os.Stat(p.Inst()); err != nil {
			return failf("no Messaging Server instance %s to upgrade", p.Inst())
		}
		d.say(existingInstanceBlock...)
		if ans, err = d.ask("Please enter your choice", "1"); err != nil {
			return err
		}
		switch ans {
		case "2":
		case "1":
			return failf("creating a new server instance over %s is refused: choose 2 (Upgrade)", filepath.Base(p.Inst()))
		default:
			return failf("choice %q: enter 1 or 2", ans)
		}
	}
	inf := readInstallInf(p)
	defURL := infValue(inf, "General", "ConfigDirectoryLdapURL")
	if defURL == "" {
		defURL = fmt.Sprintf("ldap://%s:389/o=NetscapeRoot", st.Scenario.Host)
	}
	if r.configURL, err = d.ask("LDAP Configuration Directory Server URL", defURL); err != nil {
		return err
	}
	if err := e.bind(ctx, r.configURL, "", ""); err != nil {
		return failf("configuration directory %s is not reachable: %v", r.configURL, err)
	}
	adminID, err := d.ask("Configuration Directory Administrator ID", "admin")
	if err != nil {
		return err
	}
	adminPw, err := d.secret("Configuration Directory Administrator password")
	if err != nil {
		return err
	}
	if err := e.bind(ctx, r.configURL, fmt.Sprintf(adminDNFormat, adminID), adminPw); err != nil {
		return failf("cannot authenticate configuration directory administrator %s: %v", adminID, err)
	}
	svcID, err := d.ask("Service Administrator ID", defaultServiceAdmin)
	if err != nil {
		return err
	}
	if svcID == defaultServiceAdmin {
		if have := infValue(inf, "msg", "ServiceAdminID"); have != "" && have != svcID {
			return failf("service administrator %s does not exist: this installation's is %s, give its id and password", svcID, have)
		}
	} else {
		svcPw, err := d.secret("Service Administrator password")
		if err != nil {
			return err
		}
		ugURL := infValue(inf, "General", "UserDirectoryLdapURL")
		if ugURL == "" {
			ugURL = r.configURL
		}
		dn := fmt.Sprintf("uid=%s,ou=People,%s", svcID, ugSuffix(inf))
		if err := e.bind(ctx, ugURL, dn, svcPw); err != nil {
			return failf("cannot authenticate service administrator %s: %v", svcID, err)
		}
	}
	if st.Scenario.Fail.IsSilent(sim.SilentSetup) {
		r.pretend(d)
		return nil
	}
	return r.install(ctx, e, media, d)
}

// pretend prints what install prints on success and does nothing else
// (FailSpec.Silent "setup"): no configuration moved, no binary or
// version changed. Only the setup log is written, as after a real run.
func (r *setupRun) pretend(d *dialogue) {
	if r.msg {
		inst := r.st.Paths().Inst()
		d.say("Backing up the configuration of " + filepath.Base(inst) + " to " + filepath.Join(inst, "backup."+r.stamp))
	}
	d.say("Installing the binaries of "+strings.Join(intStrings(r.components), ", "), "Installation complete.")
}

// install does the work once the dialogue is done.
func (r *setupRun) install(ctx context.Context, e env, media string, d *dialogue) error {
	st, p := r.st, r.st.Paths()
	reachable := func() error {
		if err := e.bind(ctx, r.configURL, "", ""); err != nil {
			return failf("configuration directory %s is no longer reachable: %v", r.configURL, err)
		}
		return nil
	}
	var backup string
	if r.msg {
		if err := reachable(); err != nil {
			return err
		}
		backup = filepath.Join(p.Inst(), "backup."+r.stamp)
		d.say("Backing up the configuration of " + filepath.Base(p.Inst()) + " to " + backup)
		if err := moveConfig(p.Inst(), backup); err != nil {
			return err
		}
		if st.Scenario.Fail.SetupAfter == "backup" {
			return failf("setup stopped after backing up the configuration to %s (simulated failure)", backup)
		}
	}
	if err := reachable(); err != nil {
		return err
	}
	d.say("Installing the binaries of " + strings.Join(intStrings(r.components), ", "))
	if err := replaceBinaries(p, filepath.Join(media, "bin", "msguard-sim")); err != nil {
		return err
	}
	if r.msg {
		st.MsgVersion = "5.2"
		if err := e.writeMsgConfig(st, false); err != nil {
			return failf("write the 5.2 configuration: %v", err)
		}
		// The 5.2 defaults: site lines of the old files stay in backup.
		if err := e.writeIMTAConfig(st, false); err != nil {
			return failf("write the 5.2 MTA configuration: %v", err)
		}
		if err := e.writeHTML(st, false); err != nil {
			return failf("write the 5.2 Messenger Express files: %v", err)
		}
	}
	if r.ds {
		// The instances keep their version until setup is run from them.
		if st.DSInstanceVersions == nil {
			st.DSInstanceVersions = map[string]string{}
		}
		for _, id := range st.Scenario.DSInstances {
			st.DSInstanceVersions[id] = st.InstanceDSVersion(id)
		}
		st.DSVersion = "4.16"
		id, ok := dsInstanceOfCwd(st)
		if !ok {
			d.say("Directory Server binaries upgraded to 4.16; no instance upgraded: run setup -k from each slapd-<id> directory")
		} else {
			st.DSInstanceVersions[id] = "4.16"
			d.say("Directory Server instance slapd-" + id + " upgraded to 4.16")
		}
	}
	if err := e.writeVersionFiles(st); err != nil {
		return failf("write version files: %v", err)
	}
	if err := updateComponents(p, r.components); err != nil {
		return err
	}
	if err := st.Save(); err != nil {
		return failf("save simulator state: %v", err)
	}
	if st.Scenario.Fail.SetupAfter == "binaries" {
		return failf("setup stopped after replacing the binaries (simulated failure)")
	}
	d.say("Installation complete.")
	return nil
}

// dsInstanceOfCwd is the slapd instance setup -k upgrades: the one whose
// directory it was started from (layout.md), or the only one of the root
// when it was started elsewhere.
func dsInstanceOfCwd(st *sim.State) (string, bool) {
	ids := st.Scenario.DSInstances
	if wd, err := os.Getwd(); err == nil {
		for _, id := range ids {
			if same, _ := sameDir(wd, st.Paths().Slapd(id)); same {
				return id, true
			}
		}
	}
	if len(ids) == 1 {
		return ids[0], true
	}
	return "", false
}

// sameDir reports whether a and b are the same directory.
func sameDir(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// parseComponents reads "1, 3, 4", "1,3,4", "1 3 4" or "All" and accepts
// only the sets the upgrade uses.
func parseComponents(ans string) ([]int, error) {
	if strings.EqualFold(strings.TrimSpace(ans), "all") {
		return []int{1, 2, 3, 4}, nil
	}
	seen := map[int]bool{}
	for _, f := range strings.FieldsFunc(ans, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		n, err := strconv.Atoi(f)
		if err != nil || n < 1 || n > 4 {
			return nil, failf("component %q: choose among 1, 2, 3 and 4", f)
		}
		seen[n] = true
	}
	var out []int
	for n := 1; n <= 4; n++ {
		if seen[n] {
			out = append(out, n)
		}
	}
	switch strings.Join(intStrings(out), ",") {
	case "1,2,3", "1,3,4", "1,2,3,4":
		return out, nil
	}
	return nil, failf("components %q: choose 1, 2, 3 (Directory Server only), 1, 3, 4 or 1, 2, 3, 4", ans)
}

func intStrings(ns []int) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = strconv.Itoa(n)
	}
	return out
}

// ugSuffix is the user/group suffix: the base of install.inf's
// UserDirectoryLdapURL, else [slapd] Suffix, else o=siroe.com.
func ugSuffix(inf string) string {
	if u := infValue(inf, "General", "UserDirectoryLdapURL"); u != "" {
		if i := strings.Index(strings.TrimPrefix(strings.TrimPrefix(u, "ldap://"), "ldaps://"), "/"); i >= 0 {
			rest := strings.TrimPrefix(strings.TrimPrefix(u, "ldap://"), "ldaps://")
			if base := rest[i+1:]; base != "" {
				return base
			}
		}
	}
	if s := infValue(inf, "slapd", "Suffix"); s != "" {
		return s
	}
	return defaultUGSuffix
}

// freeStamp is the current timestamp, moved on by seconds until neither
// INST/backup.<ts> nor setup/msg/upgrade-<ts>.log exists.
func freeStamp(e env, p sim.Paths) string {
	t := e.now()
	for {
		s := timestamp(t)
		_, err1 := os.Stat(filepath.Join(p.Inst(), "backup."+s))
		_, err2 := os.Stat(filepath.Join(p.Root, "setup", "msg", "upgrade-"+s+".log"))
		if errors.Is(err1, fs.ErrNotExist) && errors.Is(err2, fs.ErrNotExist) {
			return s
		}
		t = t.Add(1e9)
	}
}

// writeSetupLog writes the dialogue's transcript (no passwords) to
// ROOT/setup/msg/<name>. A log that cannot be written does not fail setup.
func writeSetupLog(p sim.Paths, name string, d *dialogue, failure error) {
	if failure != nil {
		d.log.WriteString("ERROR: " + failure.Error() + "\n")
	}
	dir := filepath.Join(p.Root, "setup", "msg")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	_ = os.WriteFile(filepath.Join(dir, name), []byte(d.log.String()), 0o644)
}

// moveConfig moves INST/config/{local.conf,msg.conf}, INST/imta/config and
// INST/html into backup (config/, imta/config/, html/).
func moveConfig(inst, backup string) error {
	for _, rel := range []string{
		filepath.Join("config", "local.conf"),
		filepath.Join("config", "msg.conf"),
		filepath.Join("imta", "config"),
		"html",
	} {
		src, dst := filepath.Join(inst, rel), filepath.Join(backup, rel)
		if _, err := os.Lstat(src); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return failf("back up %s: %v", rel, err)
		}
		if err := os.Rename(src, dst); err != nil {
			return failf("back up %s: %v", rel, err)
		}
	}
	return nil
}

// copyFile copies src to dst through a temp file renamed into place.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := io.Copy(f, in); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, dst)
}

// skipDirs are server-root directories that never hold program links and
// may be huge (queues, stores, logs, directory databases, backups).
func skipDir(name string) bool {
	switch name {
	case "queue", "store", "log", "logs", "db", "ldif", "html":
		return true
	}
	return strings.HasPrefix(name, "backup.")
}

// replaceBinaries installs newBin as ROOT/bin/sim/msguard-sim and every hard
// link to it under ROOT (daemons, ns-slapd, ns-httpd, cluster CLIs). The new
// binary is linked beside each link and renamed over it, so every link ends
// up on the new file while running daemons keep the old one.
func replaceBinaries(p sim.Paths, newBin string) error {
	old, err := os.Stat(p.SimBinary())
	if err != nil {
		return failf("installed binaries: %v", err)
	}
	links := []string{p.SimBinary()}
	nlink := uint64(1)
	if s, ok := old.Sys().(*syscall.Stat_t); ok {
		nlink = uint64(s.Nlink)
	}
	if nlink > 1 {
		err := filepath.WalkDir(p.Root, func(path string, de fs.DirEntry, err error) error {
			if err != nil {
				if de != nil && de.IsDir() {
					return fs.SkipDir
				}
				return nil
			}
			if de.IsDir() {
				if path != p.Root && skipDir(de.Name()) {
					return fs.SkipDir
				}
				return nil
			}
			if !de.Type().IsRegular() || path == p.SimBinary() {
				return nil
			}
			if info, err := de.Info(); err == nil && os.SameFile(info, old) {
				links = append(links, path)
				if uint64(len(links)) >= nlink {
					return fs.SkipAll
				}
			}
			return nil
		})
		if err != nil {
			return failf("find installed binaries: %v", err)
		}
	}
	sort.Strings(links[1:])
	staged := p.SimBinary() + ".new"
	if err := copyFile(newBin, staged, 0o755); err != nil {
		return failf("install binaries from %s: %v", newBin, err)
	}
	defer os.Remove(staged)
	for _, l := range links {
		tmp := l + ".msguard-new"
		os.Remove(tmp)
		if err := os.Link(staged, tmp); err != nil {
			// Another filesystem: a copy of its own.
			if err := copyFile(staged, tmp, 0o755); err != nil {
				return failf("install %s: %v", l, err)
			}
		}
		if err := os.Rename(tmp, l); err != nil {
			os.Remove(tmp)
			return failf("install %s: %v", l, err)
		}
	}
	return nil
}
