package remediate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/mountinfo"
)

// planner builds the steps of one run; its fields are what the steps'
// closures share.
type planner struct {
	h     *HostInfo
	o     *Options
	media *MediaInfo
	dir   string // backup directory
	runID string
	// savedStore is where backup.store renames a plain-directory store.
	savedStore string
}

// Backup names inside the backup directory.
const (
	backupServerRoot = "server-root"
	backupQueue      = "queue"
)

// BuildPlan returns the steps this host needs, in the runbook's order.
func BuildPlan(h *HostInfo, o *Options, media *MediaInfo, backupDir, runID string) *Plan {
	p := &planner{h: h, o: o, media: media, dir: backupDir, runID: runID,
		savedStore: h.StorePath + ".msguard-" + runID}
	var steps []*Step
	steps = append(steps, p.stopSteps()...)
	steps = append(steps, p.haBefore()...)
	steps = append(steps, p.backupSteps()...)
	steps = append(steps, p.dsSteps()...)
	steps = append(steps, p.msgStep())
	steps = append(steps, p.haAfter()...)
	steps = append(steps, p.postSteps()...)
	return &Plan{Root: h.Root, BackupDir: backupDir, RunID: runID, Host: h, Steps: steps, planner: p}
}

// ---- §1 stop message processing -------------------------------------------

var (
	intakeDaemons = []string{"dispatcher", "tcp_smtp_server"}
	msgDaemons    = []string{"stored", "imapd", "popd", "mshttpd", "job_controller", "enpd"}
)

func (p *planner) stopSteps() []*Step {
	inst, root, ws := p.h.InstDir, p.h.Root, p.h.WSRoot
	steps := []*Step{
		p.stopStep("stop.dispatcher", "stop mail intake first (dispatcher)",
			[]string{filepath.Join(inst, "imsimta"), "stop", "dispatcher"},
			[]string{filepath.Join(inst, "imsimta"), "start", "dispatcher"}, byDaemon(intakeDaemons...)),
		p.stopStep("stop.admin", "stop the Administration Server",
			[]string{filepath.Join(root, "stop-admin")}, []string{filepath.Join(root, "start-admin")}, byRole("admin-server")),
		p.stopStep("stop.msg", "stop the Messaging Server",
			[]string{filepath.Join(inst, "stop-msg")}, []string{filepath.Join(inst, "start-msg")}, byDaemon(append(msgDaemons, intakeDaemons...)...)),
	}
	admin := p.stopStep("stop.webserver_admin", "stop the Web Server admin instance",
		[]string{filepath.Join(ws, "https-admserv", "stop")}, []string{filepath.Join(ws, "https-admserv", "start")}, byRole("webserver:https-admserv"))
	if !p.h.HasWebAdmin {
		admin.Skip = "no Web Server admin instance (https-admserv)"
	}
	steps = append(steps, admin)
	if len(p.h.WebInstances) == 0 {
		steps = append(steps, &Step{ID: "stop.webserver_instance", Title: "stop each Web Server instance", Skip: "no Web Server instance"})
	} else {
		var cmds, starts [][]string
		var roles []string
		for _, w := range p.h.WebInstances {
			cmds = append(cmds, []string{filepath.Join(ws, w, "stop")})
			starts = append(starts, []string{filepath.Join(ws, w, "start")})
			roles = append(roles, "webserver:"+w)
		}
		steps = append(steps, p.multiStopStep("stop.webserver_instance", "stop each Web Server instance", cmds, starts, byRole(roles...)))
	}
	return steps
}

// procFilter picks the daemons a stop step must make disappear.
type procFilter func(facts.Process) bool

func byDaemon(names ...string) procFilter {
	return func(pr facts.Process) bool {
		for _, n := range names {
			if pr.Daemon == n {
				return true
			}
		}
		return false
	}
}

func byRole(roles ...string) procFilter {
	return func(pr facts.Process) bool {
		for _, r := range roles {
			if pr.Role == r {
				return true
			}
		}
		return false
	}
}

func (p *planner) stopStep(id, title string, stop, start []string, running procFilter) *Step {
	return p.multiStopStep(id, title, [][]string{stop}, [][]string{start}, running)
}

// multiStopStep stops through the install's own scripts and waits for the
// processes to exit; undo starts them again.
func (p *planner) multiStopStep(id, title string, stops, starts [][]string, running procFilter) *Step {
	s := &Step{ID: id, Title: title}
	for _, c := range stops {
		s.Commands = append(s.Commands, strings.Join(c, " "))
	}
	s.check = func(ctx context.Context) (bool, error) {
		left, err := p.matching(ctx, running)
		return len(left) == 0, err
	}
	s.do = func(ctx context.Context) error {
		for _, c := range stops {
			if _, err := runScript(ctx, p.o.StopTimeout+time.Minute, c[0], c[1:]...); err != nil {
				return err
			}
		}
		return nil
	}
	s.verify = func(ctx context.Context) error { return p.waitGone(ctx, id, running) }
	s.undo = func(ctx context.Context) error {
		for _, c := range starts {
			if _, err := runScript(ctx, 5*time.Minute, c[0], c[1:]...); err != nil {
				return err
			}
		}
		return nil
	}
	return s
}

func (p *planner) matching(ctx context.Context, f procFilter) ([]facts.Process, error) {
	if p.o.Daemons == nil {
		return nil, errors.New("no process lister")
	}
	all, err := p.o.Daemons(ctx)
	if err != nil {
		return nil, fmt.Errorf("list the install's processes: %w", err)
	}
	var out []facts.Process
	for _, pr := range all {
		if f(pr) {
			out = append(out, pr)
		}
	}
	return out, nil
}

// waitGone polls until no matching process is left, or fails naming the pids.
func (p *planner) waitGone(ctx context.Context, id string, f procFilter) error {
	timeout := p.o.StopTimeout
	if timeout <= 0 {
		timeout = 60 * time.Second
	}
	deadline := time.Now().Add(timeout)
	for {
		left, err := p.matching(ctx, f)
		if err != nil {
			return err
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			var pids []string
			for _, pr := range left {
				pids = append(pids, fmt.Sprintf("%s pid %d", pr.Daemon, pr.PID))
			}
			return fmt.Errorf("%s: still running after %s: %s", id, timeout, strings.Join(pids, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// ---- §6 high availability ------------------------------------------------

// The cluster objects of runbook §6.
const (
	sc22Service = "iMS50"
	vcsGroup    = "iMS5"
	scimsPkg    = "SUNWscims"
)

// haCLI is a step that runs cluster commands. Each command is idempotent
// or guarded by check, so a run resumed after a crash inside the step can
// run it again.
func (p *planner) haCLI(id, title string, argvs ...[]string) *Step {
	s := &Step{ID: id, Title: title}
	for _, a := range argvs {
		s.Commands = append(s.Commands, strings.Join(a, " "))
	}
	s.check = func(context.Context) (bool, error) { return false, nil }
	s.do = func(ctx context.Context) error { return runAll(ctx, argvs) }
	return s
}

func runAll(ctx context.Context, argvs [][]string) error {
	for _, a := range argvs {
		if _, err := runScript(ctx, 2*time.Minute, a[0], a[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// sc22State is the Sun Cluster 2.2 state of the Messaging data service:
// "on", "off", or "" when it is not registered.
func sc22State(ctx context.Context) (string, error) {
	out, err := runScript(ctx, time.Minute, "hareg")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == sc22Service {
			return f[1], nil
		}
	}
	return "", nil
}

// vcsLinks lists the resource links "parent -> child" hares -dep reports.
func vcsLinks(ctx context.Context) (map[string]bool, error) {
	out, err := runScript(ctx, time.Minute, "hares", "-dep")
	if err != nil {
		return nil, err
	}
	links := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(f[0], "#") {
			links[f[1]+" -> "+f[2]] = true
		}
	}
	return links, nil
}

// splitDep splits a "parent -> child" link.
func splitDep(d string) (parent, child string, ok bool) {
	parent, child, ok = strings.Cut(d, " -> ")
	return strings.TrimSpace(parent), strings.TrimSpace(child), ok
}

// vcsLink links (or unlinks) the pre-upgrade dependencies that are not
// (or still are) there.
func (p *planner) vcsLink(ctx context.Context, link bool) error {
	have, err := vcsLinks(ctx)
	if err != nil {
		return err
	}
	for _, d := range p.h.HADeps {
		parent, child, ok := splitDep(d)
		if !ok || have[parent+" -> "+child] == link {
			continue
		}
		op := "-unlink"
		if link {
			op = "-link"
		}
		if _, err := runScript(ctx, time.Minute, "hares", op, parent, child); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) haBefore() []*Step {
	switch p.h.HA {
	case "sc22":
		off := p.haCLI("ha.sc22.off", "turn the Messaging data service off (Sun Cluster 2.2)", []string{"hareg", "-n", sc22Service})
		off.check = func(ctx context.Context) (bool, error) {
			st, err := sc22State(ctx)
			return st != "on", err
		}
		off.undo = func(ctx context.Context) error {
			if st, err := sc22State(ctx); err != nil || st == "on" {
				return err
			}
			return runAll(ctx, [][]string{{"hareg", "-y", sc22Service}})
		}
		unreg := p.haCLI("ha.sc22.unregister", "unregister the iMS50 data service", []string{"hareg", "-u", sc22Service})
		unreg.check = func(ctx context.Context) (bool, error) {
			st, err := sc22State(ctx)
			return st == "", err
		}
		unreg.undo = func(ctx context.Context) error {
			if st, err := sc22State(ctx); err != nil || st != "" {
				return err
			}
			return runAll(ctx, [][]string{{"hareg", "-r", sc22Service}})
		}
		return []*Step{off, unreg}
	case "vcs":
		host := p.h.Host
		off := p.haCLI("ha.vcs.offline", "take service group iMS5 offline and disable its resources",
			[]string{"hagrp", "-offline", vcsGroup, "-sys", host},
			[]string{"hares", "-modify", "mail", "Enabled", "0"})
		off.undo = func(ctx context.Context) error {
			return runAll(ctx, [][]string{{"hares", "-modify", "mail", "Enabled", "1"}, {"hagrp", "-online", vcsGroup, "-sys", host}})
		}
		var unlinks []string
		for _, d := range p.h.HADeps {
			if parent, child, ok := splitDep(d); ok {
				unlinks = append(unlinks, strings.Join([]string{"hares", "-unlink", parent, child}, " "))
			}
		}
		unlink := &Step{ID: "ha.vcs.unlink", Title: "remove the dependencies between mail, logical_IP and mountshared", Commands: unlinks}
		if len(unlinks) == 0 {
			unlink.Skip = "no resource dependencies reported by hares -dep"
		}
		unlink.do = func(ctx context.Context) error { return p.vcsLink(ctx, false) }
		unlink.undo = func(ctx context.Context) error { return p.vcsLink(ctx, true) }
		on := p.haCLI("ha.vcs.online", "bring service group iMS5 back online (mail stays disabled)", []string{"hagrp", "-online", vcsGroup, "-sys", host})
		return []*Step{off, unlink, on}
	}
	return nil
}

func (p *planner) haAfter() []*Step {
	switch p.h.HA {
	case "sc22":
		s := p.haCLI("ha.sc22.reinstall", "set up the Sun Cluster 2.2 agent again (5.2 deprecates SC 2.2: plan a move to SC 3.x)",
			[]string{"hareg", "-r", sc22Service}, []string{"hareg", "-y", sc22Service})
		s.check = func(ctx context.Context) (bool, error) {
			st, err := sc22State(ctx)
			return st == "on", err
		}
		s.do = func(ctx context.Context) error {
			st, err := sc22State(ctx)
			if err != nil {
				return err
			}
			if st == "" {
				if err := runAll(ctx, [][]string{{"hareg", "-r", sc22Service}}); err != nil {
					return err
				}
			}
			return runAll(ctx, [][]string{{"hareg", "-y", sc22Service}})
		}
		return []*Step{s}
	case "vcs":
		var cmds []string
		for _, d := range p.h.HADeps {
			if parent, child, ok := splitDep(d); ok {
				cmds = append(cmds, strings.Join([]string{"hares", "-link", parent, child}, " "))
			}
		}
		final := [][]string{{"hares", "-modify", "mail", "Enabled", "1"}, {"hagrp", "-online", vcsGroup, "-sys", p.h.Host}}
		for _, a := range final {
			cmds = append(cmds, strings.Join(a, " "))
		}
		s := &Step{ID: "ha.vcs.relink", Title: "rebuild the resource dependency tree, enable the resources and bring them online", Commands: cmds}
		s.do = func(ctx context.Context) error {
			if err := p.vcsLink(ctx, true); err != nil {
				return err
			}
			return runAll(ctx, final)
		}
		return []*Step{s}
	case "sc3":
		s := p.haCLI("ha.sc3.agent", "install SUNWscims from the 5.2 media (upgrades the HA agent; on every cluster node)",
			[]string{"pkgadd", "-d", filepath.Join(p.mediaPath(), "msg52"), scimsPkg})
		if p.media == nil || !p.media.SCIMS {
			s.Skip = "the media has no msg52/SUNWscims"
		}
		s.check = func(ctx context.Context) (bool, error) {
			out, err := runScript(ctx, time.Minute, "pkginfo", "-l", scimsPkg)
			return err == nil && regexp.MustCompile(`(?m)^\s*VERSION:\s*5\.2\b`).MatchString(out), nil
		}
		return []*Step{s}
	}
	return nil
}

func (p *planner) mediaPath() string {
	if p.media == nil {
		return ""
	}
	return p.media.Path
}

// ---- §2 backups -------------------------------------------------------------

// storeRel is the store path relative to the root (kept out of the
// server-root backup and out of its restore).
func (p *planner) storeRel() string {
	rel, err := filepath.Rel(p.h.Root, p.h.StorePath)
	if err != nil {
		return ""
	}
	return filepath.ToSlash(rel)
}

func (p *planner) savedStoreRel() string {
	rel, _ := filepath.Rel(p.h.Root, p.savedStore)
	return filepath.ToSlash(rel)
}

// keep lists the paths the restore leaves alone: the store and its saved copy.
func (p *planner) keep() []string { return []string{p.storeRel(), p.savedStoreRel()} }

func (p *planner) backupSteps() []*Step {
	rootBackup := filepath.Join(p.dir, backupServerRoot)
	server := &Step{
		ID: "backup.server_root", Title: "back up the whole server root (the store is saved by backup.store)",
		Commands: []string{fmt.Sprintf("copy %s to %s with a SHA-256 manifest (store excluded)", p.h.Root, rootBackup)},
		Gate:     "quiesce",
	}
	server.check = func(ctx context.Context) (bool, error) {
		return VerifyBackup(ctx, rootBackup, backupServerRoot) == nil, nil
	}
	server.do = func(ctx context.Context) error {
		if err := os.RemoveAll(rootBackup); err != nil {
			return err
		}
		_, err := BackupTree(ctx, p.h.Root, rootBackup, backupServerRoot, []string{p.storeRel()})
		return err
	}

	queueBackup := filepath.Join(p.dir, backupQueue)
	queue := &Step{ID: "backup.queue", Title: "save the queue (mail in flight when intake stopped)",
		Commands: []string{fmt.Sprintf("copy %s to %s", filepath.Join(p.h.InstDir, "imta", "queue"), queueBackup)}}
	if p.h.QueueMessages == 0 {
		queue.Skip = "the queue is empty"
	}
	queue.check = func(ctx context.Context) (bool, error) {
		return VerifyBackup(ctx, queueBackup, backupQueue) == nil, nil
	}
	queue.do = func(ctx context.Context) error {
		if err := os.RemoveAll(queueBackup); err != nil {
			return err
		}
		_, err := BackupTree(ctx, filepath.Join(p.h.InstDir, "imta", "queue"), queueBackup, backupQueue, nil)
		return err
	}

	ldifDir := filepath.Join(p.dir, "ldif")
	db2ldif := &Step{ID: "backup.ldif", Title: "full directory backup: db2ldif for each slapd instance"}
	for _, id := range p.h.SlapdIDs {
		db2ldif.Commands = append(db2ldif.Commands, filepath.Join(p.h.Root, "slapd-"+id, "db2ldif"))
	}
	if len(p.h.SlapdIDs) == 0 {
		db2ldif.Skip = "the directory is on another server root or host: back it up there"
	}
	db2ldif.check = func(ctx context.Context) (bool, error) {
		for _, id := range p.h.SlapdIDs {
			if fi, err := os.Stat(filepath.Join(ldifDir, "slapd-"+id+".ldif")); err != nil || fi.Size() == 0 {
				return false, nil
			}
		}
		return true, nil
	}
	db2ldif.do = func(ctx context.Context) error {
		if err := os.MkdirAll(ldifDir, 0o700); err != nil {
			return err
		}
		for _, id := range p.h.SlapdIDs {
			out, err := runScript(ctx, 30*time.Minute, filepath.Join(p.h.Root, "slapd-"+id, "db2ldif"))
			if err != nil {
				return err
			}
			src := lastLDIFPath(out)
			if src == "" {
				return fmt.Errorf("db2ldif for slapd-%s did not name its output file: %s", id, tail(out, 2))
			}
			if err := copyFile(src, filepath.Join(ldifDir, "slapd-"+id+".ldif"), 0o600); err != nil {
				return fmt.Errorf("save db2ldif output of slapd-%s: %w", id, err)
			}
		}
		return nil
	}

	date := time.Now().Format("20060102")
	ug := filepath.Join(p.dir, date+".ug.ldif")
	pab := filepath.Join(p.dir, date+".pab.ldif")
	export := &Step{ID: "backup.ldapsearch", Title: "export users/groups and PAB over LDAP (the ldapsearch backup, done by msguard)",
		Commands: []string{
			fmt.Sprintf("export %s (objectclass=inetlocalmailrecipient) to %s", p.h.UserSuffix, ug),
			fmt.Sprintf("export o=pab (objectclass=*) to %s", pab),
		}}
	export.check = func(ctx context.Context) (bool, error) {
		_, e1 := os.Stat(ug)
		_, e2 := os.Stat(pab)
		return e1 == nil && e2 == nil, nil
	}
	export.do = func(ctx context.Context) error {
		if _, err := ExportLDIF(ctx, p.o.LDAP, p.h.UserSuffix, "(objectclass=inetlocalmailrecipient)", ug); err != nil {
			return fmt.Errorf("export %s: %w", p.h.UserSuffix, err)
		}
		if _, err := ExportLDIF(ctx, p.o.LDAP, "o=pab", "(objectclass=*)", pab); err != nil {
			if !isNoSuchObject(err) {
				return fmt.Errorf("export o=pab: %w", err)
			}
			// No PAB yet (ims_dssetup creates it): an empty export says so.
			if err := os.WriteFile(pab, []byte("version: 1\n"), 0o600); err != nil {
				return err
			}
		}
		return nil
	}

	store := p.storeStep()

	verify := &Step{ID: "backup.copy", Title: "verify every backup by re-reading it before anything changes",
		Commands: []string{fmt.Sprintf("re-read %s against its manifest (the server-root copy holds the remaining files)", rootBackup)}}
	verify.check = func(context.Context) (bool, error) { return false, nil }
	verify.do = func(ctx context.Context) error {
		if err := VerifyBackup(ctx, rootBackup, backupServerRoot); err != nil {
			return err
		}
		if p.h.QueueMessages > 0 {
			if err := VerifyBackup(ctx, queueBackup, backupQueue); err != nil {
				return err
			}
		}
		return nil
	}
	return []*Step{server, queue, db2ldif, export, store, verify}
}

// lastLDIFPath finds the LDIF file db2ldif printed.
func lastLDIFPath(out string) string {
	re := regexp.MustCompile(`(/\S+\.ldif)`)
	m := re.FindAllString(out, -1)
	if len(m) == 0 {
		return ""
	}
	return m[len(m)-1]
}

func isNoSuchObject(err error) bool {
	return ldap.IsErrorWithCode(errors.Unwrap(err), ldap.LDAPResultNoSuchObject) ||
		ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) || strings.Contains(err.Error(), "No Such Object")
}

// storeStep is backup.store: umount a mounted store, or rename a plain one
// and leave an empty directory in its place.
func (p *planner) storeStep() *Step {
	path := p.h.StorePath
	s := &Step{ID: "backup.store", Title: "save the store so nothing writes to it during the upgrade"}
	if m := p.h.StoreMount; m != nil {
		s.Commands = []string{"umount " + path + fmt.Sprintf("   (remembered: %s %s %s)", m.Device, m.FSType, m.Options)}
		s.check = func(context.Context) (bool, error) { mp, err := isMountPoint(path); return !mp, err }
		s.do = func(ctx context.Context) error { _, err := runScript(ctx, 2*time.Minute, "umount", path); return err }
		s.verify = func(context.Context) error {
			if mp, err := isMountPoint(path); err != nil || mp {
				return fmt.Errorf("%s is still mounted", path)
			}
			return nil
		}
		s.undo = func(ctx context.Context) error { return p.mountStore(ctx) }
		return s
	}
	s.Commands = []string{fmt.Sprintf("mv %s %s && mkdir %s", path, p.savedStore, path)}
	s.check = func(context.Context) (bool, error) {
		_, err := os.Stat(p.savedStore)
		return err == nil, nil
	}
	s.do = func(context.Context) error {
		fi, err := os.Stat(path)
		if err != nil {
			return fmt.Errorf("store %s: %w", path, err)
		}
		if err := os.Rename(path, p.savedStore); err != nil {
			return fmt.Errorf("rename the store: %w", err)
		}
		return os.Mkdir(path, fi.Mode().Perm())
	}
	s.undo = func(context.Context) error { return p.moveStoreBack() }
	return s
}

func (p *planner) mountStore(ctx context.Context) error {
	m := p.h.StoreMount
	if mp, err := isMountPoint(p.h.StorePath); err == nil && mp {
		return nil
	}
	args := []string{"-t", m.FSType}
	if opts := mountOptions(m.Options); opts != "" {
		args = append(args, "-o", opts)
	}
	args = append(args, m.Device, p.h.StorePath)
	_, err := runScript(ctx, 2*time.Minute, "mount", args...)
	return err
}

// mountOptions keeps the per-mount options a remount can take again.
func mountOptions(opts string) string {
	seen := map[string]bool{}
	var out []string
	for _, o := range strings.Split(opts, ",") {
		if o == "" || seen[o] {
			continue
		}
		seen[o] = true
		out = append(out, o)
	}
	return strings.Join(out, ",")
}

// moveStoreBack puts a renamed store back in place of the empty directory.
func (p *planner) moveStoreBack() error {
	if _, err := os.Stat(p.savedStore); os.IsNotExist(err) {
		return nil // already back
	}
	entries, err := os.ReadDir(p.h.StorePath)
	if err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty: something wrote to the store during the upgrade; the saved store is %s", p.h.StorePath, p.savedStore)
	}
	if err := os.RemoveAll(p.h.StorePath); err != nil {
		return err
	}
	return os.Rename(p.savedStore, p.h.StorePath)
}

// isMountPoint reports whether path is a mount point now.
func isMountPoint(path string) (bool, error) { return mountinfo.IsMountPoint(path) }

func copyFile(src, dst string, mode os.FileMode) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, mode)
}

// ---- §3 and §4: installers ---------------------------------------------------

func (p *planner) setupOptions(components string) SetupOptions {
	return SetupOptions{
		Root: p.h.Root, Components: components, ConfigLDAPURL: p.h.ConfigLDAPURL,
		AdminID: p.o.AdminID, AdminPassword: p.o.AdminPassword,
		ServiceAdminID: p.serviceAdminID(), ServiceAdminPassword: p.o.ServiceAdminPassword,
	}
}

func (p *planner) serviceAdminID() string {
	if p.o.ServiceAdminID != "" {
		return p.o.ServiceAdminID
	}
	return p.h.ServiceAdminID
}

// directoryUp fails with the runbook's reason when the directory cannot
// be reached and bound: setup -k and ims_dssetup.pl write to it, and it
// must run during the whole upgrade (runbook §1). Checking first turns an
// installer's own confused failure into a clear stop.
func (p *planner) directoryUp(ctx context.Context) error {
	conn, err := p.o.LDAP.dial(ctx)
	if err != nil {
		return fmt.Errorf("the Directory Server %s is down or refuses the bind; it must run during the whole upgrade (runbook §1), so the installer was not started: %w", p.o.LDAP.URL, err)
	}
	conn.Close()
	return nil
}

// drive runs an installer of the media through its dialogue, keeping a
// transcript (secrets redacted) in the backup directory.
func (p *planner) drive(ctx context.Context, id string, d Dialogue, prog string, args ...string) error {
	if p.media == nil || p.media.Path == "" {
		return errors.New("no installer media (--media)")
	}
	if err := p.directoryUp(ctx); err != nil {
		return err
	}
	if d.PromptTimeout == 0 {
		d.PromptTimeout = p.o.DialogueTimeout
	}
	tdir := filepath.Join(p.dir, "transcripts")
	if err := os.MkdirAll(tdir, 0o700); err != nil {
		return err
	}
	t, err := os.OpenFile(filepath.Join(tdir, id+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer t.Close()
	fmt.Fprintf(t, "=== %s %s %s\n", time.Now().UTC().Format(time.RFC3339), prog, strings.Join(args, " "))
	cmd := exec.CommandContext(ctx, filepath.Join(p.media.Path, prog), args...)
	cmd.Dir = filepath.Dir(cmd.Path)
	if err := Drive(ctx, cmd, d, t); err != nil {
		return fmt.Errorf("%s: %w (transcript: %s)", prog, err, t.Name())
	}
	return nil
}

func (p *planner) dsSteps() []*Step {
	ds := &Step{ID: "ds.setup", Title: "upgrade the Directory Server to 4.16: setup -k, components 1, 2, 3", Destructive: true,
		Commands: []string{filepath.Join(p.mediaPath(), "msg52", "setup") + " -k   (components 1, 2, 3; once per DS instance)"}}
	save := &Step{ID: "ds.save_installinf", Title: "save the install.inf that setup -k produced",
		Commands: []string{fmt.Sprintf("cp %s %s", filepath.Join(p.h.Root, "setup", "install.inf"), filepath.Join(p.dir, "post", "install.inf.ds-setup"))}}
	dssetup := &Step{ID: "ds.dssetup", Title: "prepare the directory for 5.2: ims_dssetup.pl (schema, indexes, o=pab)", Destructive: true,
		Commands: []string{filepath.Join(p.mediaPath(), "msg52", "ims_dssetup.pl")}}
	if !p.h.dsNeedsUpgrade() {
		why := fmt.Sprintf("Directory Server is already %s", p.h.DSVersion)
		if len(p.h.SlapdIDs) == 0 {
			why = "the directory is on another server root or host"
		}
		ds.Skip, save.Skip, dssetup.Skip = why, why, why+" (post.dssetup runs ims_dssetup.pl)"
		return []*Step{ds, save, dssetup}
	}
	ds.check = func(ctx context.Context) (bool, error) {
		v, err := p.dsVersionNow(ctx)
		return err == nil && !versionLess(v, "4.16"), nil
	}
	ds.do = func(ctx context.Context) error {
		return p.drive(ctx, "ds.setup", SetupAnswers(p.setupOptions("1, 2, 3")), "msg52/setup", "-k")
	}
	ds.verify = func(ctx context.Context) error {
		v, err := p.dsVersionNow(ctx)
		if err != nil {
			return err
		}
		if versionLess(v, "4.16") {
			return fmt.Errorf("Directory Server is still %s after setup -k", v)
		}
		return nil
	}
	save.check = func(context.Context) (bool, error) { return false, nil }
	save.do = func(context.Context) error {
		dst := filepath.Join(p.dir, "post", "install.inf.ds-setup")
		if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
			return err
		}
		return copyFile(filepath.Join(p.h.Root, "setup", "install.inf"), dst, 0o600)
	}
	dssetup.check = p.dssetupDone
	dssetup.do = p.runDSSetup
	return []*Step{ds, save, dssetup}
}

func (p *planner) runDSSetup(ctx context.Context) error {
	id := 1
	return p.drive(ctx, "dssetup", DSSetupAnswers(DSSetupOptions{
		Root: p.h.Root, InstanceIndex: id, DMDN: p.o.LDAP.BindDN, DMPassword: p.o.LDAP.Password, Suffix: p.h.UserSuffix,
	}), "msg52/ims_dssetup.pl")
}

// externalDSSetupMissing is the error for a directory on another host
// that lacks ims_dssetup.pl's effects.
func (p *planner) externalDSSetupMissing() error {
	return fmt.Errorf("the directory %s is not in this server root and lacks ims_dssetup.pl's schema (inetMailUser) or o=pab: run msg52/ims_dssetup.pl from the 5.2 media on the directory's own host first", p.o.LDAP.URL)
}

// dssetupDone asks the directory whether ims_dssetup's effects are there.
func (p *planner) dssetupDone(ctx context.Context) (bool, error) {
	schema, pab, err := ldapDSSetupState(ctx, p.o.LDAP)
	if err != nil {
		return false, nil
	}
	return schema && pab, nil
}

var dsVersionRe = regexp.MustCompile(`(?i)Directory/(\d+\.\d+)`)

func (p *planner) dsVersionNow(ctx context.Context) (string, error) {
	out, err := runScript(ctx, 30*time.Second, filepath.Join(p.h.Root, "bin", "slapd", "server", "ns-slapd"), "-v")
	if err != nil {
		return "", err
	}
	m := dsVersionRe.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("ns-slapd -v printed no version: %s", tail(out, 2))
	}
	return m[1], nil
}

var msgVersionRe = regexp.MustCompile(`Messaging Server (\d+\.\d+)`)

func (p *planner) msgVersionNow(ctx context.Context) (string, error) {
	out, err := runScript(ctx, 30*time.Second, filepath.Join(p.h.InstDir, "imsimta"), "version")
	if err != nil {
		return "", err
	}
	m := msgVersionRe.FindStringSubmatch(out)
	if m == nil {
		return "", fmt.Errorf("imsimta version printed no version: %s", tail(out, 2))
	}
	return m[1], nil
}

func (p *planner) msgStep() *Step {
	components := "1, 2, 3, 4"
	if p.h.dsNeedsUpgrade() || (p.h.DSVersion != "" && !versionLess(p.h.DSVersion, "4.16")) || len(p.h.SlapdIDs) == 0 {
		components = "1, 3, 4"
	}
	s := &Step{ID: "msg.setup", Title: fmt.Sprintf("upgrade Messaging Server: setup -k, components %s, [2] Upgrade", components), Destructive: true,
		Commands: []string{filepath.Join(p.mediaPath(), "msg52", "setup") + " -k"}}
	s.check = func(ctx context.Context) (bool, error) {
		v, err := p.msgVersionNow(ctx)
		return err == nil && v == "5.2", nil
	}
	s.do = func(ctx context.Context) error {
		return p.drive(ctx, "msg.setup", SetupAnswers(p.setupOptions(components)), "msg52/setup", "-k")
	}
	s.verify = func(ctx context.Context) error {
		v, err := p.msgVersionNow(ctx)
		if err != nil {
			return err
		}
		if v != "5.2" {
			return fmt.Errorf("imsimta version says %s after setup -k", v)
		}
		return nil
	}
	return s
}

// ---- §5 after the upgrade ---------------------------------------------------

func (p *planner) postSteps() []*Step {
	postDir := filepath.Join(p.dir, "post")
	save := &Step{ID: "post.save_configs", Title: "save install.inf, local.conf, msg.conf, adm.conf and the setup logs",
		Commands: []string{"copy them to " + postDir}}
	save.check = func(context.Context) (bool, error) { return false, nil }
	save.do = func(context.Context) error {
		if err := os.MkdirAll(postDir, 0o700); err != nil {
			return err
		}
		files := []string{
			filepath.Join(p.h.Root, "setup", "install.inf"),
			filepath.Join(p.h.InstDir, "config", "local.conf"),
			filepath.Join(p.h.InstDir, "config", "msg.conf"),
			filepath.Join(p.h.Root, "admin-serv", "config", "adm.conf"),
		}
		logs, _ := filepath.Glob(filepath.Join(p.h.Root, "setup", "msg", "*.log"))
		sort.Strings(logs)
		for _, f := range append(files, logs...) {
			if _, err := os.Stat(f); err != nil {
				continue
			}
			if err := copyFile(f, filepath.Join(postDir, filepath.Base(f)), 0o600); err != nil {
				return fmt.Errorf("save %s: %w", f, err)
			}
		}
		return nil
	}

	store := &Step{ID: "post.store", Title: "put the store back"}
	if p.h.StoreMount != nil {
		store.Title = "remount the store"
		store.Commands = []string{fmt.Sprintf("mount -t %s %s %s", p.h.StoreMount.FSType, p.h.StoreMount.Device, p.h.StorePath)}
		store.check = func(context.Context) (bool, error) { return isMountPoint(p.h.StorePath) }
		store.do = p.mountStore
	} else {
		store.Title = "move the saved store back"
		store.Commands = []string{fmt.Sprintf("rmdir %s && mv %s %s", p.h.StorePath, p.savedStore, p.h.StorePath)}
		store.check = func(context.Context) (bool, error) {
			_, err := os.Stat(p.savedStore)
			return os.IsNotExist(err), nil
		}
		store.do = func(context.Context) error { return p.moveStoreBack() }
	}

	dssetup := &Step{ID: "post.dssetup", Title: "run ims_dssetup.pl (MTA direct LDAP lookup)", Destructive: true,
		Commands: []string{filepath.Join(p.mediaPath(), "msg52", "ims_dssetup.pl")}}
	if p.h.dsNeedsUpgrade() {
		dssetup.Skip = "ds.dssetup already runs it"
	}
	dssetup.check = p.dssetupDone
	dssetup.do = p.runDSSetup
	if len(p.h.SlapdIDs) == 0 {
		// ims_dssetup.pl prepares a slapd-* instance of its own server
		// root: a directory on another host is prepared there (Run checks
		// that before it starts).
		dssetup.Commands = []string{fmt.Sprintf("(ims_dssetup.pl on the directory's own host: %s; checked here)", p.o.LDAP.URL)}
		dssetup.do = func(context.Context) error { return p.externalDSSetupMissing() }
	}

	ws := &Step{ID: "post.webserver", Title: "upgrade the Web Server to 6.0 SP2",
		Commands: []string{filepath.Join(p.mediaPath(), "ws60sp2", "setup")}}
	switch {
	case p.h.WebServer == "":
		ws.Skip = "no Web Server"
	case p.h.WebServer == "6.0SP2":
		ws.Skip = "the Web Server is already 6.0 SP2"
	case versionLess(strings.SplitN(p.h.WebServer, "SP", 2)[0], "6.0"):
		ws.Skip = fmt.Sprintf("Web Server %s cannot be upgraded to 6.0 SP2: migrate it by hand (runbook §5)", p.h.WebServer)
	case p.media == nil || !p.media.WebServer:
		ws.Skip = "no Web Server 6.0 SP2 media (DIR/ws60sp2/setup): upgrade it by hand"
	}
	ws.check = func(context.Context) (bool, error) { return false, nil }
	ws.do = func(ctx context.Context) error {
		return p.drive(ctx, "post.webserver", WebServerAnswers(p.h.Root), "ws60sp2/setup")
	}

	da := &Step{ID: "post.da", Title: "uninstall Delegated Administrator and install 1.2 (old settings kept as *.nda)",
		Commands: []string{filepath.Join(p.mediaPath(), "da12", "uninstall"), filepath.Join(p.mediaPath(), "da12", "setup")}}
	switch {
	case p.h.DA == "":
		da.Skip = "no Delegated Administrator"
	case p.h.DA == "1.2":
		da.Skip = "Delegated Administrator is already 1.2"
	case p.media == nil || !p.media.DA:
		da.Skip = "no Delegated Administrator 1.2 media (DIR/da12): install it by hand"
	}
	da.check = func(context.Context) (bool, error) {
		b, err := os.ReadFile(filepath.Join(p.h.Root, "setup", "nda", "nda.inf"))
		return err == nil && regexp.MustCompile(`(?m)^\s*Version\s*=\s*1\.2\s*$`).Match(b), nil
	}
	da.do = func(ctx context.Context) error {
		if _, err := os.Stat(filepath.Join(p.h.Root, "setup", "nda", "nda.inf")); err == nil {
			if err := p.drive(ctx, "post.da-uninstall", DAAnswers(p.h.Root), "da12/uninstall"); err != nil {
				return err
			}
		}
		return p.drive(ctx, "post.da", DAAnswers(p.h.Root), "da12/setup")
	}

	start := &Step{ID: "post.start", Title: "start the servers by hand (setup starts none)"}
	startMsg := []string{filepath.Join(p.h.InstDir, "start-msg")}
	if p.h.HA != "" && p.h.HA != "none" {
		startMsg = append(startMsg, "ha")
	}
	starts := [][]string{startMsg, {filepath.Join(p.h.Root, "start-admin")}}
	if p.h.HasWebAdmin {
		starts = append(starts, []string{filepath.Join(p.h.WSRoot, "https-admserv", "start")})
	}
	for _, w := range p.h.WebInstances {
		starts = append(starts, []string{filepath.Join(p.h.WSRoot, w, "start")})
	}
	for _, c := range starts {
		start.Commands = append(start.Commands, strings.Join(c, " "))
	}
	start.check = func(context.Context) (bool, error) { return false, nil }
	start.do = func(ctx context.Context) error {
		for _, c := range starts {
			out, err := runScript(ctx, 5*time.Minute, c[0], c[1:]...)
			if err != nil && !strings.Contains(out, "already running") {
				return err
			}
		}
		return nil
	}

	maillog := &Step{ID: "post.maillog", Title: "read mail.log_current after the restart; judge the host with the postflight policies",
		Commands: []string{"msguard check --phase postflight --server-root " + p.h.Root}, Gate: "postflight"}
	maillog.check = func(context.Context) (bool, error) { return false, nil }
	maillog.do = func(context.Context) error { return nil }

	queue := &Step{ID: "post.queue", Title: "watch the queue: messages must not stay stuck (postflight.queue.stuck; msguard audit keeps watching)",
		Commands: []string{filepath.Join(p.h.InstDir, "imsimta") + " qm directory"}}
	queue.check = func(context.Context) (bool, error) { return false, nil }
	queue.do = func(context.Context) error { return nil }

	return []*Step{save, store, dssetup, ws, da, start, maillog, queue}
}
