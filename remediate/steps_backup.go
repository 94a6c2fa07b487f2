package remediate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/msguard/msguard/internal/mountinfo"
	"github.com/msguard/msguard/remediate/ldapexport"
	"github.com/msguard/msguard/remediate/treebackup"
)

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

// keep lists the paths the server root's restore leaves alone: the store
// and its saved copy, and the queue when backup.queue saved it apart (its
// own restore puts it back).
func (p *planner) keep() []string {
	k := []string{p.storeRel(), p.savedStoreRel()}
	if p.queueSavedApart() {
		k = append(k, p.queueRel())
	}
	return k
}

// queueDir is the MTA's queue directory.
func (p *planner) queueDir() string { return filepath.Join(p.h.InstDir, "imta", "queue") }

// queueRel is the queue directory relative to the server root.
func (p *planner) queueRel() string {
	rel, err := filepath.Rel(p.h.Root, p.queueDir())
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
		return "" // not below the root: the server-root backup never held it
	}
	return filepath.ToSlash(rel)
}

// queueSavedApart tells whether backup.queue saves the queue (it is not
// empty): the server-root backup then leaves the queue out, so that each
// of its bytes is copied once. An empty queue (its directories, held or
// temporary files aside, nothing to deliver) stays in the server-root
// backup.
func (p *planner) queueSavedApart() bool { return p.h.QueueMessages > 0 && p.queueRel() != "" }

// serverRootExcludes is what the server-root backup leaves out: the store
// (backup.store saves it) and the queue when backup.queue saves it.
func (p *planner) serverRootExcludes() []string {
	ex := []string{p.storeRel()}
	if p.queueSavedApart() {
		ex = append(ex, p.queueRel())
	}
	return ex
}

// keyFiles are files of the server root whose copy in the server-root
// backup backup.server_root proves, by content.
func (p *planner) keyFiles() []string {
	return []string{
		"setup/install.inf",
		filepath.ToSlash(filepath.Join("msg-"+p.h.Instance, "config", "msg.conf")),
		filepath.ToSlash(filepath.Join("msg-"+p.h.Instance, "config", "local.conf")),
		filepath.ToSlash(filepath.Join("msg-"+p.h.Instance, "imta", "config", "imta.cnf")),
	}
}

// proveServerRootBackup re-reads the server-root backup against its
// manifest (and seals it, for backup.copy) and proves that it holds the
// install's key files as they are now (the install is quiesced: they do
// not change under the copy).
func (p *planner) proveServerRootBackup(ctx context.Context, dir string) error {
	if err := treebackup.VerifyAndSeal(ctx, dir, backupServerRoot); err != nil {
		return err
	}
	want := map[string]bool{}
	for _, rel := range p.keyFiles() {
		if _, err := os.Stat(filepath.Join(p.h.Root, rel)); err == nil {
			want[rel] = true
		}
	}
	var files int64
	if _, err := treebackup.ReadManifest(dir, backupServerRoot, func(e *treebackup.ManifestEntry) error {
		if e.Type == treebackup.EntryFile {
			files++
		}
		if !want[e.Path] {
			return nil
		}
		delete(want, e.Path)
		return sameFile(filepath.Join(p.h.Root, filepath.FromSlash(e.Path)), filepath.Join(treebackup.DataDir(dir, backupServerRoot), filepath.FromSlash(e.Path)))
	}); err != nil {
		return fmt.Errorf("the server-root backup: %w", err)
	}
	for rel := range want {
		return fmt.Errorf("the server-root backup has no %s (%d files backed up)", rel, files)
	}
	return nil
}

// queueFiles counts the regular files below the queue directory.
func queueFiles(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	return n, err
}

// proveQueueBackup re-reads the queue backup (and seals it, for
// backup.copy) and proves that it holds as many files as the (stopped)
// queue.
func (p *planner) proveQueueBackup(ctx context.Context, dir string) error {
	if err := treebackup.VerifyAndSeal(ctx, dir, backupQueue); err != nil {
		return err
	}
	live, err := queueFiles(p.queueDir())
	if err != nil {
		return fmt.Errorf("count the queue: %w", err)
	}
	var saved int64
	if _, err := treebackup.ReadManifest(dir, backupQueue, func(e *treebackup.ManifestEntry) error {
		if e.Type == treebackup.EntryFile {
			saved++
		}
		return nil
	}); err != nil {
		return err
	}
	if saved != live {
		return fmt.Errorf("the queue backup holds %d files, the queue %d", saved, live)
	}
	return nil
}

// slapdConn is the connection to the slapd-<id> instance of the root: the
// user/group directory for the instance install.inf's [slapd] section
// names (and for the only one), the configuration directory for the other.
func (p *planner) slapdConn(id string) ldapexport.Conn {
	c := p.o.LDAP
	if u := p.h.SlapdURLs[id]; u != "" {
		c.URL = u
	}
	return c
}

// serverURL strips the base DN from an LDAP URL.
func serverURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return raw
	}
	return u.Scheme + "://" + u.Host
}

// proveLDIF proves the db2ldif export of slapd-<id>: the file holds as
// many entries as the instance serves.
func (p *planner) proveLDIF(ctx context.Context, id, path string) error {
	n, err := ldifEntries(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("slapd-%s: db2ldif exited 0 but wrote no file %s", id, path)
		}
		return fmt.Errorf("slapd-%s: %w", id, err)
	}
	c := p.slapdConn(id)
	want, err := serverEntries(ctx, c)
	if err != nil {
		return fmt.Errorf("slapd-%s: count the entries the server holds: %w", id, err)
	}
	switch {
	case n == 0 && want > 0:
		return fmt.Errorf("slapd-%s: db2ldif exited 0 but wrote no entries (server has %d)", id, want)
	case n != want:
		return fmt.Errorf("slapd-%s: the LDIF holds %d entries, the server at %s has %d", id, n, c.URL, want)
	}
	return nil
}

// proveExport proves an ldapsearch-equivalent export: as many entries as
// the same search finds on the server (none when base does not exist).
func (p *planner) proveExport(ctx context.Context, base, filter, path string) error {
	n, err := ldifEntries(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("no export of %s at %s", base, path)
		}
		return err
	}
	want, err := ldapexport.Count(ctx, p.o.LDAP, base, filter)
	if err != nil && !ldapexport.IsNoSuchObject(err) {
		return err
	}
	if n != want {
		return fmt.Errorf("the export %s holds %d entries, the server has %d for %s %s", path, n, want, base, filter)
	}
	return nil
}

func (p *planner) backupSteps() []*Step {
	rootBackup := filepath.Join(p.dir, backupServerRoot)
	excluded := "store excluded"
	if p.queueSavedApart() {
		excluded = "store and queue excluded: backup.store and backup.queue save them"
	}
	server := &Step{
		ID: "backup.server_root", Title: "back up the whole server root (the store is saved by backup.store, a non-empty queue by backup.queue)",
		Commands: []string{fmt.Sprintf("copy %s to %s with a SHA-256 manifest (%s)", p.h.Root, rootBackup, excluded)},
		Gate:     "quiesce",
	}
	server.check = func(ctx context.Context) (bool, error) {
		return p.proveServerRootBackup(ctx, rootBackup) == nil, nil
	}
	server.do = func(ctx context.Context) error {
		if err := os.RemoveAll(rootBackup); err != nil {
			return err
		}
		_, err := treebackup.Backup(ctx, p.h.Root, rootBackup, backupServerRoot, p.serverRootExcludes())
		return err
	}
	server.verify = func(ctx context.Context) error { return p.proveServerRootBackup(ctx, rootBackup) }

	queueBackup := filepath.Join(p.dir, backupQueue)
	queue := &Step{ID: "backup.queue", Title: "save the queue (mail in flight when intake stopped)",
		Commands: []string{fmt.Sprintf("copy %s to %s with a SHA-256 manifest (the only copy of the queue: the server-root backup leaves it out)", p.queueDir(), queueBackup)}}
	if !p.queueSavedApart() {
		queue.Skip = "the queue is empty (the server-root backup holds its directories)"
	}
	queue.check = func(ctx context.Context) (bool, error) {
		return p.proveQueueBackup(ctx, queueBackup) == nil, nil
	}
	queue.do = func(ctx context.Context) error {
		if err := os.RemoveAll(queueBackup); err != nil {
			return err
		}
		_, err := treebackup.Backup(ctx, p.queueDir(), queueBackup, backupQueue, nil)
		return err
	}
	queue.verify = func(ctx context.Context) error { return p.proveQueueBackup(ctx, queueBackup) }

	ldifDir := filepath.Join(p.dir, "ldif")
	ldifOf := func(id string) string { return filepath.Join(ldifDir, "slapd-"+id+".ldif") }
	db2ldif := &Step{ID: "backup.ldif", Title: "full directory backup: db2ldif for each slapd instance"}
	for _, id := range p.h.SlapdIDs {
		db2ldif.Commands = append(db2ldif.Commands, filepath.Join(p.h.Root, "slapd-"+id, "db2ldif")+"   (checked against "+serverURL(p.slapdConn(id).URL)+")")
	}
	if len(p.h.SlapdIDs) == 0 {
		db2ldif.Skip = "the directory is on another server root or host: back it up there"
	}
	proveAll := func(ctx context.Context) error {
		for _, id := range p.h.SlapdIDs {
			if err := p.proveLDIF(ctx, id, ldifOf(id)); err != nil {
				return err
			}
		}
		return nil
	}
	db2ldif.check = func(ctx context.Context) (bool, error) { return proveAll(ctx) == nil, nil }
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
			if _, err := os.Stat(src); errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("slapd-%s: db2ldif exited 0 but wrote no file %s", id, src)
			}
			if err := copyFile(src, ldifOf(id), 0o600); err != nil {
				return fmt.Errorf("save db2ldif output of slapd-%s: %w", id, err)
			}
			// Where db2ldif wrote in the server root: the undo removes it.
			if err := os.WriteFile(ldifOf(id)+".source", []byte(src+"\n"), 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	db2ldif.verify = proveAll
	// The undo takes db2ldif's files out of DSINST/ldif again (when the
	// run stops before anything destructive, the server root must be as
	// it was: the backout's restore does that for the later failures).
	db2ldif.undo = func(context.Context) error {
		for _, id := range p.h.SlapdIDs {
			b, err := os.ReadFile(ldifOf(id) + ".source")
			if err != nil {
				continue
			}
			src := strings.TrimSpace(string(b))
			if !inside(src, filepath.Join(p.h.Root, "slapd-"+id)) || sameFile(src, ldifOf(id)) != nil {
				continue // not the file this run saved
			}
			if err := os.Remove(src); err != nil && !os.IsNotExist(err) {
				return err
			}
			if err := p.restoreMTime(filepath.Dir(src)); err != nil {
				return err
			}
		}
		return nil
	}

	date := time.Now().Format("20060102")
	ug := filepath.Join(p.dir, date+".ug.ldif")
	pab := filepath.Join(p.dir, date+".pab.ldif")
	const ugFilter, pabFilter = "(objectclass=inetlocalmailrecipient)", "(objectclass=*)"
	export := &Step{ID: "backup.ldapsearch", Title: "export users/groups and PAB over LDAP (the ldapsearch backup, done by msguard)",
		Commands: []string{
			fmt.Sprintf("export %s %s to %s", p.h.UserSuffix, ugFilter, ug),
			fmt.Sprintf("export o=pab %s to %s", pabFilter, pab),
		}}
	proveExports := func(ctx context.Context) error {
		if err := p.proveExport(ctx, p.h.UserSuffix, ugFilter, ug); err != nil {
			return err
		}
		return p.proveExport(ctx, "o=pab", pabFilter, pab)
	}
	export.check = func(ctx context.Context) (bool, error) { return proveExports(ctx) == nil, nil }
	export.do = func(ctx context.Context) error {
		if _, err := ldapexport.Export(ctx, p.o.LDAP, p.h.UserSuffix, ugFilter, ug); err != nil {
			return fmt.Errorf("export %s: %w", p.h.UserSuffix, err)
		}
		if _, err := ldapexport.Export(ctx, p.o.LDAP, "o=pab", pabFilter, pab); err != nil {
			if !ldapexport.IsNoSuchObject(err) {
				return fmt.Errorf("export o=pab: %w", err)
			}
			// No PAB yet (ims_dssetup creates it): an empty export says so.
			if err := os.WriteFile(pab, []byte("version: 1\n"), 0o600); err != nil {
				return err
			}
		}
		return nil
	}
	export.verify = proveExports

	store := p.storeStep()

	verify := &Step{ID: "backup.copy", Title: "prove every backup still holds what its re-read saw, before anything changes",
		Commands: []string{fmt.Sprintf("prove %s unchanged since its verified re-read, or re-read it against its manifest (the server-root copy holds the remaining files)", rootBackup)}}
	verify.check = func(context.Context) (bool, error) { return false, nil }
	// The step is a proof: it has no do. Each backup step re-read its
	// backup in full and sealed it; here a stat of every entry equal to the
	// seal's proves nothing wrote to a backup since (a second read of every
	// byte cost 284 s of the window at 10^6 queue files), and any
	// difference, even a touch, means a full re-read against the manifest.
	verify.verify = func(ctx context.Context) error {
		backups := [][2]string{{rootBackup, backupServerRoot}}
		if p.queueSavedApart() {
			backups = append(backups, [2]string{queueBackup, backupQueue})
		}
		for _, b := range backups {
			how, err := treebackup.Reverify(ctx, b[0], b[1])
			if err != nil {
				return err
			}
			if p.o.Log != nil {
				p.o.Log.Info("backup.copy: backup proven", "backup", b[1], "how", how.String())
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

// storeEmpty proves that the store path is an empty directory.
func storeEmpty(path string) error {
	entries, err := os.ReadDir(path)
	if err != nil {
		return fmt.Errorf("store %s: %w", path, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("the store %s still holds %s", path, entries[0].Name())
	}
	return nil
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
			return storeEmpty(path)
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
	s.verify = func(context.Context) error {
		if _, err := os.Stat(p.savedStore); err != nil {
			return fmt.Errorf("the store was not saved: %w", err)
		}
		return storeEmpty(path)
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

// copyFile copies src to dst (created with mode, or truncated), streamed
// (db2ldif's export of 10^6 entries is half a gigabyte: read whole, it made
// remediate's peak RSS twice that), and fsyncs it: a saved copy is on disk.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	if err := out.Sync(); err != nil {
		out.Close()
		return fmt.Errorf("copy %s to %s: %w", src, dst, err)
	}
	return out.Close()
}
