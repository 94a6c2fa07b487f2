package script

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/ldapdial"
)

// bundleHost answers the collectors' questions from what the collector
// script shipped (collectors.Host): the same collectors that read a live
// host read a bundle through it. What the script does not gather (network
// probes) is an error matching collectors.ErrNotGathered.
type bundleHost struct{ m *material }

var _ collectors.Host = bundleHost{}

// bundleAdvice words the server-root errors for the script's own flags.
var bundleAdvice = collectors.Advice{
	Root:     "pass -r with the directory that holds setup/install.inf to the collector script",
	Instance: "pass -i with one of them to the collector script",
	Reader:   "run the collector script as a user that can read it (root)",
}

// notGathered is the error of material the bundle lacks.
func notGathered(what string) error {
	return fmt.Errorf("%s: %w", what, collectors.ErrNotGathered)
}

func (h bundleHost) Kind(p string) collectors.PathKind {
	k, ok := h.m.kinds[p]
	if !ok && p == h.m.meta["root"] {
		k, ok = h.m.kinds["root:"+p]
	}
	if !ok {
		if _, listed := h.m.dirs[p]; listed {
			return collectors.PathDir
		}
		if f := h.m.files[p]; f != nil {
			switch f.state {
			case "ok", "unreadable":
				return collectors.PathFile
			case "isdir":
				return collectors.PathDir
			case "missing":
				return collectors.PathMissing
			}
		}
		return collectors.PathUnknown
	}
	switch k {
	case "d", "r":
		return collectors.PathDir
	case "f", "x":
		return collectors.PathFile
	case "-":
		return collectors.PathMissing
	case "o":
		return collectors.PathOther
	}
	return collectors.PathUnknown
}

// ReadDir is the directory's "dir" section; without one, the entries
// are those the bundle holds files of.
func (h bundleHost) ReadDir(dir string) ([]collectors.DirEntry, error) {
	if h.m.kinds[dir] == "r" {
		return nil, &fs.PathError{Op: "open", Path: dir, Err: syscall.EACCES}
	}
	if es, ok := h.m.dirs[dir]; ok {
		out := make([]collectors.DirEntry, 0, len(es))
		for _, e := range es {
			out = append(out, collectors.DirEntry{Name: e.name, Dir: e.dir})
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
		return out, nil
	}
	var out []collectors.DirEntry
	for _, p := range h.m.fileList {
		if path.Dir(p) == dir && h.m.files[p].state != "missing" {
			out = append(out, collectors.DirEntry{Name: path.Base(p), Dir: h.m.files[p].state == "isdir"})
		}
	}
	if out == nil {
		return nil, notGathered("list " + dir)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ReadFile is the file's section, with the error a live read would give.
func (h bundleHost) ReadFile(p string) (collectors.File, error) {
	f := h.m.files[p]
	if f == nil {
		// The script ships every run state file of its state directory
		// (roots/*/state.json): one it did not ship does not exist.
		if sd := h.m.meta["state_dir"]; sd != "" && strings.HasPrefix(p, path.Join(sd, "roots")+"/") {
			return collectors.File{}, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
		}
		return collectors.File{}, collectors.ErrNotGathered
	}
	switch f.state {
	case "ok":
		return collectors.File{Data: f.data, SHA256: f.sha256}, nil
	case "missing":
		return collectors.File{}, &fs.PathError{Op: "open", Path: p, Err: syscall.ENOENT}
	case "isdir":
		return collectors.File{}, fmt.Errorf("read %s: %w", path.Base(p), &fs.PathError{Op: "read", Path: p, Err: syscall.EISDIR})
	case "unreadable":
		return collectors.File{}, &fs.PathError{Op: "open", Path: p, Err: syscall.EACCES}
	}
	return collectors.File{}, collectors.ErrNotGathered
}

// CompareBackup is the script's "backupdiff" section for backupDir.
func (h bundleHost) CompareBackup(backupDir, instDir string) []collectors.BackupRow {
	bd := h.m.backupDiff
	if bd == nil || bd.dir != backupDir {
		return nil
	}
	var out []collectors.BackupRow
	for _, row := range bd.rows {
		state, rel, ok := strings.Cut(row, " ")
		if !ok {
			continue
		}
		r := collectors.BackupRow{Rel: rel, State: state}
		if state == "unreadable" {
			which, name, _ := strings.Cut(rel, " ")
			r.Rel = name
			p := path.Join(backupDir, name)
			if which == "current" {
				p = path.Join(instDir, name)
			}
			r.Err = fmt.Sprintf("open %s: permission denied", p)
		}
		out = append(out, r)
	}
	return out
}

// LookPath: the cluster CLIs the script found, or a command it ran.
func (h bundleHost) LookPath(name, _ string) string {
	if p := h.m.haPaths[name]; p != "" {
		return p
	}
	for key, c := range h.m.cmds {
		if first, _, _ := strings.Cut(key, " "); first == name {
			if c.missing {
				return ""
			}
			return name
		}
	}
	return ""
}

// Run is the output the script recorded for the command's name.
func (h bundleHost) Run(_ context.Context, c collectors.Command) (collectors.Output, error) {
	name := c.Name()
	sec := h.m.cmds[name]
	switch {
	case sec == nil:
		return collectors.Output{}, notGathered(name)
	case sec.missing:
		return collectors.Output{}, fmt.Errorf("%s not found: %w", c.Exe, collectors.ErrCommandNotFound)
	}
	out := collectors.Output{Stdout: sec.out}
	switch sec.rc {
	case "", "cut":
		return out, fmt.Errorf("%s: no exit status in the bundle (output cut)", name)
	}
	rc, err := strconv.Atoi(sec.rc)
	if err != nil {
		return out, fmt.Errorf("%s: exit status %s", name, sec.rc)
	}
	out.RC = rc
	return out, nil
}

// Greet: the script makes no network connection.
func (bundleHost) Greet(context.Context, string, string) (string, error) {
	return "", errors.New(NotGathered)
}

// ServerHeader: the script makes no network connection.
func (bundleHost) ServerHeader(context.Context, string) (string, error) {
	return "", fmt.Errorf("%s: %w", NotGathered, collectors.ErrNotGathered)
}

// HostNames are uname -n, hostname, and the names /etc/hosts gives to
// the addresses it lists for them.
func (h bundleHost) HostNames() []string { return h.m.hostNames() }

// NodeName is uname -n.
func (h bundleHost) NodeName() string { return h.m.meta["nodename"] }

// Mounts is the shipped mount table (/proc/self/mountinfo or /etc/mnttab).
func (h bundleHost) Mounts() ([]collectors.MountEntry, error) {
	m := h.m
	switch m.mountFormat {
	case "mountinfo":
		return collectors.ParseMountInfo(strings.NewReader(m.mounts))
	case "mnttab":
		var mounts []collectors.MountEntry
		for _, l := range strings.Split(m.mounts, "\n") {
			f := strings.Split(l, "\t")
			if len(f) >= 4 {
				mounts = append(mounts, collectors.MountEntry{Source: f[0], MountPoint: f[1], FSType: f[2], Options: f[3]})
			}
		}
		return mounts, nil
	}
	return nil, errors.New("mount table: neither /proc/self/mountinfo nor /etc/mnttab was readable on the host")
}

// pathRow is the "paths" row of p.
func (h bundleHost) pathRow(p string) (pathRow, bool) {
	for _, row := range h.m.paths {
		if row.path == p {
			return row, true
		}
	}
	return pathRow{}, false
}

// RealPath is the resolved path of a "paths" row.
func (h bundleHost) RealPath(p string) (string, error) {
	row, ok := h.pathRow(p)
	switch {
	case !ok:
		return "", notGathered("resolve " + p)
	case row.real == "-":
		return "", &fs.PathError{Op: "lstat", Path: p, Err: syscall.ENOENT}
	}
	return row.real, nil
}

// DiskSpace is df -k's figures of a "paths" row.
func (h bundleHost) DiskSpace(mounts []collectors.MountEntry, p string, _ bool) (facts.DiskSpace, error) {
	ds := facts.DiskSpace{Path: p}
	row, ok := h.pathRow(p)
	switch {
	case !ok:
		return ds, fmt.Errorf("free space of %s: %w", p, collectors.ErrNotGathered)
	case row.real == "-":
		return ds, fmt.Errorf("free space of %s: %w", p, syscall.ENOENT)
	}
	if e, ok := collectors.MountFor(mounts, row.real); ok {
		ds.MountPoint = e.MountPoint
	}
	if len(row.df) != 2 {
		return ds, fmt.Errorf("free space of %s: df -k gave no figures", p)
	}
	total, err1 := strconv.ParseUint(row.df[0], 10, 64)
	free, err2 := strconv.ParseUint(row.df[1], 10, 64)
	if err1 != nil || err2 != nil {
		return ds, fmt.Errorf("free space of %s: df -k printed %q", p, strings.Join(row.df, " "))
	}
	ds.TotalBytes, ds.FreeBytes = total*1024, free*1024
	return ds, nil
}

// ScanQueue is the queue listing, summarised while the bundle was read.
func (h bundleHost) ScanQueue(_ context.Context, dir string) (*facts.Queue, []string, error) {
	m := h.m
	if m.queue == nil {
		switch m.kinds[dir] {
		case "-", "":
			return nil, nil, fmt.Errorf("queue directory %s: no such file or directory", dir)
		case "r":
			return nil, nil, fmt.Errorf("queue directory %s: permission denied", dir)
		}
		return nil, nil, fmt.Errorf("queue directory %s: not a directory", dir)
	}
	return m.queue.queueFacts(dir), m.treePartial("queue"), nil
}

// ScanStore is the store listing, summarised while the bundle was read.
func (h bundleHost) ScanStore(_ context.Context, dir string) (*facts.Store, []string, error) {
	m := h.m
	st := &facts.Store{Path: dir}
	switch m.kinds[dir] {
	case "-", "":
		st.UsersDigest = collectors.UsersDigest(nil)
		return st, nil, nil
	case "r":
		return nil, nil, fmt.Errorf("store partition %s: permission denied", dir)
	case "d":
	default:
		return nil, nil, fmt.Errorf("store partition %s: not a directory", dir)
	}
	if m.store == nil {
		return nil, nil, fmt.Errorf("store partition %s: not listed by the collector script", dir)
	}
	st.Exists = true
	ts := m.store
	st.Mailboxes, st.Files, st.Bytes = ts.mailboxes, ts.files, ts.bytes
	partial := m.treePartial("store")
	if ts.overflow {
		partial = append(partial, fmt.Sprintf("more than %d mailboxes: users digest not computed", collectors.StoreDigestLimit))
		return st, partial, nil
	}
	sort.Strings(ts.uids)
	st.UsersDigest = collectors.UsersDigest(ts.uids)
	if len(ts.uids) <= collectors.StoreUsersLimit {
		st.Users = ts.uids
	}
	return st, partial, nil
}

// MailLog is the shipped log, summarised while the bundle was read.
func (h bundleHost) MailLog(_ context.Context, p string, _ time.Time) (*facts.MailLog, error) {
	m := h.m
	switch {
	case !m.maillogSeen && (m.kinds[p] == "-" || m.kinds[p] == ""):
		return nil, fmt.Errorf("open mail.log_current: open %s: no such file or directory", p)
	case !m.maillogSeen:
		return nil, fmt.Errorf("open mail.log_current: open %s: not readable by the collector script", p)
	case m.maillogErr != nil:
		return nil, m.maillogErr
	}
	m.maillog.Path = p
	return m.maillog, nil
}

// Processes is `ps -eo` with, where the host has them, the
// /proc/<pid>/exe links the script listed. Start times and listening
// ports are not gathered.
func (h bundleHost) Processes(_ context.Context, keep func(collectors.ProcessInfo) bool, _ int) ([]collectors.ProcessInfo, []string, error) {
	m := h.m
	if m.psFields == "" {
		return nil, nil, errors.New("list processes: ps -eo failed on the host")
	}
	fields := strings.Split(m.psFields, ",")
	stateCol := -1
	for i, f := range fields {
		if f == "s" || f == "stat" {
			stateCol = i
		}
	}
	nHead := len(fields) - 1
	var out []collectors.ProcessInfo
	for _, l := range m.ps {
		f := strings.Fields(l)
		if len(f) < nHead {
			continue
		}
		pid, err1 := strconv.ParseInt(f[0], 10, 32)
		ppid, err2 := strconv.ParseInt(f[1], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		argv := f[nHead:]
		// The script redacted the command line on the host.
		info := collectors.ProcessInfo{PID: int32(pid), PPID: int32(ppid), User: f[2], Argv: argv, Cmdline: strings.Join(argv, " ")}
		if stateCol >= 0 && strings.HasPrefix(f[stateCol], "Z") {
			info.Zombie = true
		}
		if len(argv) == 1 && strings.HasPrefix(argv[0], "[") && strings.HasSuffix(argv[0], "]") {
			info.Name, info.Argv = strings.Trim(argv[0], "[]"), nil
		} else if len(argv) > 0 {
			info.Name = path.Base(argv[0])
		}
		switch exe, ok := m.exe[int32(pid)]; {
		case !m.exeListed:
			info.ExeErr = errors.New("no /proc/<pid>/exe on this host")
		case ok:
			info.Exe = exe
		case m.exeUnreadable[int32(pid)]:
			info.ExeErr = errors.New("executable link unreadable")
		default:
			continue // exited while the script listed the executables
		}
		if keep(info) {
			out = append(out, info)
		}
	}
	return out, []string{"start times and listening ports are not gathered by the collector script"}, nil
}

// Directory is the ldapsearch runs of the script, or an error when the
// host had no ldapsearch.
func (h bundleHost) Directory(context.Context, ldapdial.Target) (collectors.DirectorySession, error) {
	if h.m.ldapMeta["ldapsearch"] == "" {
		return nil, fmt.Errorf("ldapsearch not found on the host: the directory was not read (put ldapsearch on PATH and run the collector script again): %w",
			collectors.ErrNotGathered)
	}
	return bundleDirectory{h.m}, nil
}

// bundleDirectory answers each query from the ldapsearch section of its
// name: "anon" (the anonymous root DSE), "rootdse" (the bound one, whose
// status is the bind's), "monitor", "schema", "pab", "recipients",
// "pabentries". A failed ldapsearch is a server answer (*ldap.Error) for
// the result codes it exits with, else a network error.
type bundleDirectory struct{ m *material }

// search is the named ldapsearch, or an error when the bundle lacks it.
func (d bundleDirectory) search(name string) (*ldapSec, error) {
	sec := d.m.ldap[name]
	if sec == nil {
		return nil, notGathered("ldapsearch " + name)
	}
	if sec.rc == "0" {
		return sec, nil
	}
	msg := strings.TrimSpace(strings.Join(sec.stderr, "; "))
	if msg == "" {
		msg = "ldapsearch exit status " + sec.rc
	}
	code, err := strconv.Atoi(sec.rc)
	switch {
	case err != nil, code >= 80: // local errors of ldapsearch (connect, TLS)
		return nil, ldap.NewError(ldap.ErrorNetwork, errors.New(msg))
	}
	return nil, ldap.NewError(uint16(code), errors.New(msg))
}

func (d bundleDirectory) Probe(context.Context) error {
	_, err := d.search("anon")
	return err
}

// Bind: the bound root DSE read says whether the bind succeeded.
func (d bundleDirectory) Bind(context.Context, string, string) error {
	_, err := d.search("rootdse")
	return err
}

func (d bundleDirectory) Read(_ context.Context, q collectors.Query) (map[string][]string, error) {
	sec, err := d.search(q.Name)
	if err != nil {
		return nil, err
	}
	if es := parseLDIF(sec.ldif); len(es) == 1 {
		return es[0], nil
	}
	return nil, nil
}

func (d bundleDirectory) Each(_ context.Context, q collectors.Query, fn func(dn string)) error {
	sec, err := d.search(q.Name)
	if err != nil {
		return err
	}
	for _, e := range parseLDIF(sec.ldif) {
		if dn := e["dn"]; len(dn) > 0 {
			fn(dn[0])
		}
	}
	return nil
}

func (bundleDirectory) Close() {}
