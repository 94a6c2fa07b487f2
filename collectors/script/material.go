package script

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
)

// fileSec is one configuration file as the script shipped it.
type fileSec struct {
	state  string // "ok", "missing", "isdir", "unreadable"
	sha256 string
	data   []byte // redacted on the host
}

// cmdSec is one command's output.
type cmdSec struct {
	missing bool
	out     string
	rc      string
}

// ldapSec is one ldapsearch: its LDIF, stderr and exit status.
type ldapSec struct {
	ldif   []string
	stderr []string
	rc     string
}

// dirEntry is one entry of a "dir" section.
type dirEntry struct {
	name string
	dir  bool
}

// pathRow is one row of the "paths" section: a path, its resolved form
// ("-" when it does not exist) and df -k's total and available KiB.
type pathRow struct {
	key, path, real string
	df              []string
}

// material is everything a bundle holds, read in one pass. The queue and
// store listings and the MTA log are summarised while they are read, so
// that a bundle of a host with 10⁶ queued messages never sits in memory.
type material struct {
	meta     map[string]string
	kinds    map[string]string
	dirs     map[string][]dirEntry
	files    map[string]*fileSec
	fileList []string
	cmds     map[string]*cmdSec

	psFields  string
	ps        []string
	exe       map[int32]string
	exeListed bool
	// exeUnreadable holds the processes whose exe link could not be read;
	// a process in neither map exited before its link was listed.
	exeUnreadable map[int32]bool

	mountFormat string
	mounts      string
	paths       []pathRow

	queue, store *treeScan
	treeErrs     map[string][]string

	maillogSeen bool
	maillog     *facts.MailLog
	maillogErr  error

	haTools  []string
	haPaths  map[string]string
	ldapMeta map[string]string
	ldap     map[string]*ldapSec
	hosts    string
	done     bool

	// backupDiff is the "backupdiff" section: the newest backup directory
	// and its rows ("absent REL", "text REL", ...).
	backupDiff *backupDiffSec

	loc *time.Location
	now time.Time
}

// readMaterial reads a whole text bundle.
func readMaterial(ctx context.Context, br *bufio.Reader) (*material, error) {
	m := &material{
		meta: map[string]string{}, kinds: map[string]string{}, dirs: map[string][]dirEntry{},
		files: map[string]*fileSec{}, cmds: map[string]*cmdSec{}, treeErrs: map[string][]string{},
		haPaths: map[string]string{}, ldapMeta: map[string]string{}, ldap: map[string]*ldapSec{},
		loc: time.UTC,
	}
	r := &reader{br: br}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		s, err := r.next()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, err
		}
		if err := m.read(ctx, r, s); err != nil {
			return nil, err
		}
	}
}

// read consumes one section.
func (m *material) read(ctx context.Context, r *reader, s *section) error {
	collect := func() ([]string, string, error) {
		var lines []string
		rc, err := r.body(func(l string) { lines = append(lines, l) })
		return lines, rc, err
	}
	switch s.kind {
	case "DONE":
		m.done = true
	case "FILE": // FILE <path> missing|isdir|unreadable
		if i := strings.LastIndexByte(s.line, ' '); i > 0 {
			m.addFile(s.line[:i], &fileSec{state: s.line[i+1:]})
		}
	case "CMD": // CMD <name...> missing <path>
		if i := strings.Index(s.line, " missing "); i > 0 {
			m.cmds[s.line[:i]] = &cmdSec{missing: true}
		}
	case "PS", "MOUNTS":
	case "meta", "ldapmeta":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		dst := m.meta
		if s.kind == "ldapmeta" {
			dst = m.ldapMeta
		}
		for _, l := range lines {
			if k, v, ok := strings.Cut(l, "="); ok {
				dst[k] = v
			}
		}
		if s.kind == "meta" {
			m.setClock()
		}
	case "kind", "kinds":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		for _, l := range lines {
			if k, p, ok := strings.Cut(l, " "); ok {
				m.kinds[p] = k
			}
		}
		if s.kind == "kind" && len(lines) == 1 {
			k, p, _ := strings.Cut(lines[0], " ")
			m.kinds["root:"+p] = k
		}
	case "dir":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		var es []dirEntry
		for _, l := range lines {
			if k, n, ok := strings.Cut(l, " "); ok {
				es = append(es, dirEntry{name: n, dir: k == "d"})
			}
		}
		m.dirs[s.line] = es
	case "file": // file <path> sha256=<hex>
		p, sum, _ := strings.Cut(s.line, " sha256=")
		var b strings.Builder
		if _, err := r.body(func(l string) { b.WriteString(l); b.WriteByte('\n') }); err != nil {
			return err
		}
		m.addFile(p, &fileSec{state: "ok", sha256: sum, data: []byte(b.String())})
	case "cmd":
		var b strings.Builder
		rc, err := r.body(func(l string) { b.WriteString(l); b.WriteByte('\n') })
		if err != nil {
			return err
		}
		m.cmds[s.line] = &cmdSec{out: b.String(), rc: rc}
	case "ps":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		m.psFields, m.ps = s.line, lines
	case "exe":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		m.exeListed, m.exe, m.exeUnreadable = true, map[int32]string{}, map[int32]bool{}
		for _, l := range lines {
			pid, target, ok := strings.Cut(l, " ")
			n, err := strconv.ParseInt(pid, 10, 32)
			switch {
			case err != nil:
			case ok:
				m.exe[int32(n)] = target
			default:
				m.exeUnreadable[int32(n)] = true
			}
		}
	case "mounts":
		var b strings.Builder
		if _, err := r.body(func(l string) { b.WriteString(l); b.WriteByte('\n') }); err != nil {
			return err
		}
		m.mountFormat, m.mounts = s.line, b.String()
	case "paths":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		for _, l := range lines {
			f := strings.Split(l, "\t")
			if len(f) < 4 {
				continue
			}
			m.paths = append(m.paths, pathRow{key: f[0], path: f[1], real: f[2], df: strings.Fields(f[3])})
		}
	case "tree": // tree queue|store <dir>
		if len(s.args) < 2 {
			return fmt.Errorf("bundle line %d: tree without a directory", r.line)
		}
		name, dir := s.args[0], strings.TrimPrefix(s.line, s.args[0]+" ")
		ts := newTreeScan(name, dir, m.now, m.loc)
		if _, err := r.body(ts.line); err != nil {
			return err
		}
		if name == "queue" {
			m.queue = ts
		} else {
			m.store = ts
		}
	case "treeerr":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		m.treeErrs[s.line] = lines
	case "maillog": // maillog total=all | total=N tail=M
		m.maillogSeen = true
		first := int64(1)
		if t, ok := argValue(s.args, "total"); ok && t != "all" {
			total, _ := strconv.ParseInt(t, 10, 64)
			tail, _ := argValue(s.args, "tail")
			n, _ := strconv.ParseInt(tail, 10, 64)
			if total > n {
				first = total - n + 1
			}
		}
		body := &bodyReader{r: r}
		m.maillog, m.maillogErr = collectors.ScanMailLog(ctx, body, "", m.loc, first)
		if err := body.drain(); err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	case "ha":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		for _, l := range lines {
			if f := strings.Fields(l); len(f) == 3 && f[0] == "tool" {
				m.haPaths[f[1]] = f[2]
				m.haTools = append(m.haTools, f[1])
			}
		}
	case "ldap":
		ls := &ldapSec{}
		rc, err := r.body(func(l string) {
			if e, ok := strings.CutPrefix(l, marker+"STDERR "); ok {
				ls.stderr = append(ls.stderr, e)
				return
			}
			ls.ldif = append(ls.ldif, l)
		})
		if err != nil {
			return err
		}
		ls.rc = rc
		m.ldap[s.line] = ls
	case "backupdiff": // backupdiff <backup dir>
		lines, _, err := collect()
		if err != nil {
			return err
		}
		m.backupDiff = &backupDiffSec{dir: s.line, rows: lines}
	case "hosts":
		lines, _, err := collect()
		if err != nil {
			return err
		}
		m.hosts = strings.Join(lines, "\n")
	default:
		// A section of a newer script: skip it.
		if _, err := r.body(func(string) {}); err != nil {
			return err
		}
	}
	return nil
}

// backupDiffSec is the script's comparison of the newest backup.<timestamp>
// with the files in place.
type backupDiffSec struct {
	dir  string
	rows []string
}

func (m *material) addFile(p string, f *fileSec) {
	if _, dup := m.files[p]; !dup {
		m.fileList = append(m.fileList, p)
	}
	m.files[p] = f
}

// setClock reads the host's clock and time zone from the meta section:
// the zone is the (fixed) offset between its local and UTC dates.
func (m *material) setClock() {
	const layout = "2006 01 02 15 04 05"
	utc, err1 := time.Parse(layout, m.meta["date_utc"])
	local, err2 := time.Parse(layout, m.meta["date_local"])
	if err1 != nil {
		return
	}
	m.now = utc
	if err2 == nil {
		off := local.Sub(utc).Round(15 * time.Minute)
		if off != 0 {
			m.loc = time.FixedZone(fmt.Sprintf("host%+d", int(off.Minutes())), int(off.Seconds()))
		}
	}
}

func argValue(args []string, key string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

// lsLine matches one `ls -l` entry: mode, links, owner, group, size (or
// "major, minor"), month, day, time or year, name.
var lsLine = regexp.MustCompile(`^([-a-zA-Z?][-rwxXsStTl+.@]*)\s+\d+\s+\S+\s+\S+\s+(?:\d+,\s*)?(\d+)\s+([A-Z][a-z]{2})\s+(\d{1,2})\s+(\d{1,2}:\d{2}|\d{4})\s(.*)$`)

// treeScan summarises an `ls -lRa` listing of the queue or the store.
type treeScan struct {
	name, root string
	now        time.Time
	loc        *time.Location
	cur        string // directory being listed, relative to root
	started    bool

	// queue
	channels []string
	tally    *collectors.QueueTally
	chanIdx  map[string]int

	// store
	files, bytes, mailboxes int64
	uids                    []string
	overflow                bool

	bad int64 // lines that are neither headers nor entries
}

func newTreeScan(name, root string, now time.Time, loc *time.Location) *treeScan {
	return &treeScan{name: name, root: strings.TrimSuffix(root, "/"), now: now, loc: loc, chanIdx: map[string]int{}}
}

// line reads one line of the listing.
func (t *treeScan) line(l string) {
	if l == "" || strings.HasPrefix(l, "total ") {
		return
	}
	if strings.HasSuffix(l, ":") && !lsLine.MatchString(l) {
		dir := strings.TrimSuffix(l, ":")
		if dir == t.root || strings.HasPrefix(dir, t.root+"/") {
			t.cur = strings.TrimPrefix(strings.TrimPrefix(dir, t.root), "/")
			return
		}
	}
	m := lsLine.FindStringSubmatch(l)
	if m == nil {
		t.bad++
		return
	}
	mode, name := m[1], m[6]
	if mode[0] == 'l' {
		if i := strings.Index(name, " -> "); i >= 0 {
			name = name[:i]
		}
	}
	if name == "." || name == ".." {
		return
	}
	size, _ := strconv.ParseInt(m[2], 10, 64)
	if mode[0] == 'c' || mode[0] == 'b' {
		size = 0
	}
	isDir := mode[0] == 'd'
	if t.name == "queue" {
		t.queueEntry(name, isDir, size, t.mtime(m[3], m[4], m[5]))
	} else {
		t.storeEntry(name, isDir, size)
	}
}

// mtime reads ls -l's date: "Mon DD HH:MM" (within six months; the year
// is the one that does not put it in the future) or "Mon DD YYYY".
func (t *treeScan) mtime(mon, day, tm string) time.Time {
	d, _ := strconv.Atoi(day)
	month := time.January
	if mt, err := time.Parse("Jan", mon); err == nil {
		month = mt.Month()
	}
	if y, err := strconv.Atoi(tm); err == nil && len(tm) == 4 {
		return time.Date(y, month, d, 0, 0, 0, 0, t.loc)
	}
	hh, mm, _ := strings.Cut(tm, ":")
	h, _ := strconv.Atoi(hh)
	mi, _ := strconv.Atoi(mm)
	now := t.now.In(t.loc)
	ts := time.Date(now.Year(), month, d, h, mi, 0, 0, t.loc)
	if ts.After(now.Add(24 * time.Hour)) {
		ts = ts.AddDate(-1, 0, 0)
	}
	return ts
}

// queueEntry counts a queue entry: the top level's directories are the
// channels; every non-directory below a channel is a queue file.
func (t *treeScan) queueEntry(name string, isDir bool, size int64, mtime time.Time) {
	if t.cur == "" {
		if isDir {
			t.channels = append(t.channels, name)
		}
		return
	}
	if isDir {
		return
	}
	if t.tally == nil {
		sort.Strings(t.channels)
		t.tally = collectors.NewQueueTally(t.channels)
		for i, c := range t.channels {
			t.chanIdx[c] = i
		}
	}
	ch, _, _ := strings.Cut(t.cur, "/")
	if i, ok := t.chanIdx[ch]; ok {
		t.tally.Add(i, name, size, mtime)
	}
}

// queueFacts is the queue as the collector reports it.
func (t *treeScan) queueFacts(dir string) *facts.Queue {
	if t.tally == nil {
		sort.Strings(t.channels)
		t.tally = collectors.NewQueueTally(t.channels)
	}
	return t.tally.Queue(dir)
}

// Mailbox tree states of a store path (see the store collector).
const (
	stOutside = iota
	stUserTree
	stInMailbox
)

// storeState walks a store path's components from the partition down.
func storeState(rel string) int {
	st := stOutside
	if rel == "" {
		return st
	}
	for _, c := range strings.Split(rel, "/") {
		st = storeStep(st, c)
	}
	return st
}

func storeStep(st int, name string) int {
	switch {
	case st == stOutside && name == "=user":
		return stUserTree
	case st == stUserTree && strings.HasPrefix(name, "="):
		return stInMailbox
	}
	return st
}

// storeEntry counts a store entry: files and bytes everywhere, and a
// mailbox for each =<uid> directory inside the =user tree.
func (t *treeScan) storeEntry(name string, isDir bool, size int64) {
	if !isDir {
		t.files++
		t.bytes += size
		return
	}
	if storeState(t.cur) == stUserTree && strings.HasPrefix(name, "=") {
		t.mailboxes++
		if !t.overflow {
			if len(t.uids) >= collectors.StoreDigestLimit {
				t.overflow, t.uids = true, nil
			} else {
				t.uids = append(t.uids, name[1:])
			}
		}
	}
}
