package treebackup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// ManifestFormat names the manifest's layout in its header line.
const ManifestFormat = "msguard.backup-manifest/v1"

// Manifest entry types.
const (
	EntryFile    = "file"
	EntryDir     = "dir"
	EntrySymlink = "symlink"
)

// manifestModeBits are the os.FileMode bits a manifest records: the
// permissions and setuid, setgid and sticky; the type is in Type.
const manifestModeBits = os.ModePerm | os.ModeSetuid | os.ModeSetgid | os.ModeSticky

// maxCorruptProblems bounds the problems a CorruptBackupError lists.
const maxCorruptProblems = 20

// ManifestEntry describes one backed-up file, directory or symlink.
//
// A hard link to a file met earlier in the same tree is a "file" entry
// whose HardLink names that earlier entry; it has no SHA256 of its own (its
// content is the earlier entry's) and it is a hard link in the backup too.
type ManifestEntry struct {
	Path     string    `json:"path"` // relative to the backed-up root, slash-separated; "." is the root
	Type     string    `json:"type"` // EntryFile, EntryDir or EntrySymlink
	Size     int64     `json:"size"`
	Mode     uint32    `json:"mode"` // os.FileMode permission, setuid, setgid and sticky bits
	UID      int       `json:"uid"`
	GID      int       `json:"gid"`
	MTime    time.Time `json:"mtime"`
	SHA256   string    `json:"sha256,omitempty"`   // files
	Target   string    `json:"target,omitempty"`   // symlinks
	HardLink string    `json:"hardlink,omitempty"` // files: Path of the entry this one is a hard link to
}

// manifestEntryJSON is ManifestEntry on the wire: a path or target that is
// not valid UTF-8 (a Latin-1 file name from an old Solaris host) cannot be
// a JSON string without loss, so it travels base64-encoded instead.
type manifestEntryJSON struct {
	Path       string    `json:"path,omitempty"`
	Path64     string    `json:"path64,omitempty"`
	Type       string    `json:"type"`
	Size       int64     `json:"size"`
	Mode       uint32    `json:"mode"`
	UID        int       `json:"uid"`
	GID        int       `json:"gid"`
	MTime      time.Time `json:"mtime"`
	SHA256     string    `json:"sha256,omitempty"`
	Target     string    `json:"target,omitempty"`
	Target64   string    `json:"target64,omitempty"`
	HardLink   string    `json:"hardlink,omitempty"`
	HardLink64 string    `json:"hardlink64,omitempty"`
}

// splitUTF8 returns s as (plain, "") when it is valid UTF-8, else ("", base64).
func splitUTF8(s string) (string, string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	return "", base64.StdEncoding.EncodeToString([]byte(s))
}

// joinUTF8 is the inverse of splitUTF8.
func joinUTF8(plain, b64 string) (string, error) {
	if b64 == "" {
		return plain, nil
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	return string(b), err
}

// MarshalJSON encodes the entry losslessly (see manifestEntryJSON).
func (e ManifestEntry) MarshalJSON() ([]byte, error) {
	w := manifestEntryJSON{Type: e.Type, Size: e.Size, Mode: e.Mode, UID: e.UID, GID: e.GID,
		MTime: e.MTime.UTC(), SHA256: e.SHA256}
	w.Path, w.Path64 = splitUTF8(e.Path)
	w.Target, w.Target64 = splitUTF8(e.Target)
	w.HardLink, w.HardLink64 = splitUTF8(e.HardLink)
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (e *ManifestEntry) UnmarshalJSON(b []byte) error {
	var w manifestEntryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var err1, err2, err3 error
	*e = ManifestEntry{Type: w.Type, Size: w.Size, Mode: w.Mode, UID: w.UID, GID: w.GID,
		MTime: w.MTime, SHA256: w.SHA256}
	e.Path, err1 = joinUTF8(w.Path, w.Path64)
	e.Target, err2 = joinUTF8(w.Target, w.Target64)
	e.HardLink, err3 = joinUTF8(w.HardLink, w.HardLink64)
	return errors.Join(err1, err2, err3)
}

// appendManifestEntry appends the JSON line of e (no newline) to b: what
// json.Marshal(e) gives, byte for byte, written directly for the common
// entry (plain ASCII names, a time json can encode); any other goes
// through json.Marshal. A manifest of 10⁵ entries was a tenth of a
// backup's CPU time through reflection.
func appendManifestEntry(b []byte, e *ManifestEntry) ([]byte, error) {
	if e.Path == "" || !plainJSON(e.Path) || !plainJSON(e.Type) || !plainJSON(e.SHA256) ||
		!plainJSON(e.Target) || !plainJSON(e.HardLink) || e.MTime.UTC().Year() < 0 || e.MTime.UTC().Year() > 9999 {
		j, err := json.Marshal(e)
		return append(b, j...), err
	}
	b = append(b, `{"path":"`...)
	b = append(b, e.Path...)
	b = append(b, `","type":"`...)
	b = append(b, e.Type...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, e.Size, 10)
	b = append(b, `,"mode":`...)
	b = strconv.AppendUint(b, uint64(e.Mode), 10)
	b = append(b, `,"uid":`...)
	b = strconv.AppendInt(b, int64(e.UID), 10)
	b = append(b, `,"gid":`...)
	b = strconv.AppendInt(b, int64(e.GID), 10)
	b = append(b, `,"mtime":"`...)
	b = e.MTime.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for _, f := range [...]struct{ key, v string }{{`,"sha256":"`, e.SHA256}, {`,"target":"`, e.Target}, {`,"hardlink":"`, e.HardLink}} {
		if f.v != "" {
			b = append(b, f.key...)
			b = append(b, f.v...)
			b = append(b, '"')
		}
	}
	return append(b, '}'), nil
}

// plainJSON reports whether s is its own JSON string body as json.Marshal
// writes it: printable ASCII without quote, backslash or the HTML
// characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// parseManifestEntry decodes one entry line into e (which must be zero).
// The layout appendManifestEntry writes is read directly; anything else
// (escapes, base64 names, other key orders, damage) goes to json.Unmarshal,
// so the result is always the one json.Unmarshal would give.
func parseManifestEntry(line []byte, e *ManifestEntry) error {
	if parseEntryFast(line, e) {
		return nil
	}
	*e = ManifestEntry{}
	return json.Unmarshal(line, e)
}

// entryScanner reads the fixed layout of an entry line.
type entryScanner struct {
	b  []byte
	ok bool
}

// lit consumes s.
func (p *entryScanner) lit(s string) {
	if p.ok && len(p.b) >= len(s) && string(p.b[:len(s)]) == s {
		p.b = p.b[len(s):]
		return
	}
	p.ok = false
}

// str consumes a string body up to its closing quote: printable ASCII, no
// backslash (json.Unmarshal gives such a body back as is).
func (p *entryScanner) str() string {
	if !p.ok {
		return ""
	}
	for i, c := range p.b {
		switch {
		case c == '"':
			s := string(p.b[:i])
			p.b = p.b[i+1:]
			return s
		case c < 0x20 || c > 0x7e || c == '\\':
			p.ok = false
			return ""
		}
	}
	p.ok = false
	return ""
}

// int consumes a JSON integer (no leading zeros, no fraction or exponent).
func (p *entryScanner) int(bits int, unsigned bool) int64 {
	if !p.ok {
		return 0
	}
	i := 0
	if !unsigned && i < len(p.b) && p.b[i] == '-' {
		i++
	}
	start := i
	for i < len(p.b) && p.b[i] >= '0' && p.b[i] <= '9' {
		i++
	}
	if i == start || p.b[start] == '0' && i-start > 1 {
		p.ok = false
		return 0
	}
	var v int64
	var err error
	if unsigned {
		var u uint64
		u, err = strconv.ParseUint(string(p.b[:i]), 10, bits)
		v = int64(u)
	} else {
		v, err = strconv.ParseInt(string(p.b[:i]), 10, bits)
	}
	if err != nil {
		p.ok = false
		return 0
	}
	p.b = p.b[i:]
	return v
}

// parseEntryFast reads the layout appendManifestEntry writes; false for
// any other line.
func parseEntryFast(line []byte, e *ManifestEntry) bool {
	p := entryScanner{b: line, ok: true}
	p.lit(`{"path":"`)
	e.Path = p.str()
	p.lit(`,"type":"`)
	e.Type = p.str()
	p.lit(`,"size":`)
	e.Size = p.int(64, false)
	p.lit(`,"mode":`)
	e.Mode = uint32(p.int(32, true))
	p.lit(`,"uid":`)
	e.UID = int(p.int(strconv.IntSize, false))
	p.lit(`,"gid":`)
	e.GID = int(p.int(strconv.IntSize, false))
	p.lit(`,"mtime":`)
	if !p.ok || len(p.b) == 0 || p.b[0] != '"' {
		return false
	}
	end := bytes.IndexByte(p.b[1:], '"')
	if end < 0 || e.MTime.UnmarshalJSON(p.b[:end+2]) != nil {
		return false
	}
	p.b = p.b[end+2:]
	for _, f := range [...]struct {
		key string
		v   *string
	}{{`,"sha256":"`, &e.SHA256}, {`,"target":"`, &e.Target}, {`,"hardlink":"`, &e.HardLink}} {
		if p.ok && bytes.HasPrefix(p.b, []byte(f.key)) {
			p.lit(f.key)
			if *f.v = p.str(); *f.v == "" {
				return false // omitempty never writes an empty one
			}
		}
	}
	p.lit("}")
	return p.ok && len(p.b) == 0 && e.Path != ""
}

// FileMode returns the entry's mode as an os.FileMode, type bit included.
func (e *ManifestEntry) FileMode() os.FileMode {
	m := os.FileMode(e.Mode) & manifestModeBits
	switch e.Type {
	case EntryDir:
		m |= os.ModeDir
	case EntrySymlink:
		m |= os.ModeSymlink
	}
	return m
}

// ManifestHeader is the first line of a manifest. The counts are -1 in a
// manifest whose backup never finished.
type ManifestHeader struct {
	Format    string    `json:"manifest"`
	Name      string    `json:"name"`
	Root      string    `json:"root"` // the directory that was backed up
	Created   time.Time `json:"created"`
	Exclude   []string  `json:"exclude,omitempty"`
	Files     int64     `json:"files"` // hard links included
	Dirs      int64     `json:"dirs"`  // the root included
	Symlinks  int64     `json:"symlinks"`
	HardLinks int64     `json:"hardlinks"`
	Bytes     int64     `json:"bytes"` // file content, each hard-linked file once
}

// Complete reports whether the header was finalised by a finished backup.
func (h *ManifestHeader) Complete() bool { return h.Files >= 0 }

// manifestTrailer is the last line of a complete manifest: the number of
// entry lines and the SHA-256 of their bytes (newlines included), so a
// truncated or edited manifest is detected.
type manifestTrailer struct {
	Trailer string `json:"trailer"` // always "sha256"
	Entries int64  `json:"entries"`
	SHA256  string `json:"sha256"`
}

// trailerPrefix starts the trailer line and no entry line.
const trailerPrefix = `{"trailer":`

// ManifestPath is the manifest of backup name in dst.
func ManifestPath(dst, name string) string { return filepath.Join(dst, name+".manifest") }

// DataDir is where the files of backup name in dst are kept.
func DataDir(dst, name string) string { return filepath.Join(dst, name) }

// headerLine renders h; the counts are right-aligned in fixed-width fields
// (JSON allows the leading spaces) so the finished header can be written
// over the provisional one in place, without rewriting the whole manifest.
func (h *ManifestHeader) headerLine() ([]byte, error) {
	fixed := struct {
		Format  string    `json:"manifest"`
		Name    string    `json:"name"`
		Root    string    `json:"root"`
		Created time.Time `json:"created"`
		Exclude []string  `json:"exclude,omitempty"`
	}{h.Format, h.Name, h.Root, h.Created.UTC(), h.Exclude}
	b, err := json.Marshal(fixed)
	if err != nil {
		return nil, fmt.Errorf("encode manifest header: %w", err)
	}
	b = b[:len(b)-1]
	b = fmt.Appendf(b, `,"files":%20d,"dirs":%20d,"symlinks":%20d,"hardlinks":%20d,"bytes":%20d}`+"\n",
		h.Files, h.Dirs, h.Symlinks, h.HardLinks, h.Bytes)
	return b, nil
}

// manifestWriter streams a manifest to disk: a provisional header, one
// line per entry, and on finish the trailer and the final header.
type manifestWriter struct {
	f       *os.File
	bw      *bufio.Writer
	sum     hash.Hash
	hdr     ManifestHeader
	entries int64
	line    []byte // reused for each entry line
}

// createManifest creates path (0600, must not exist) and writes the
// provisional header of h.
func createManifest(path string, h ManifestHeader) (*manifestWriter, error) {
	h.Format = ManifestFormat
	h.Files, h.Dirs, h.Symlinks, h.HardLinks, h.Bytes = -1, -1, -1, -1, -1
	line, err := h.headerLine()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create manifest: %w", err)
	}
	w := &manifestWriter{f: f, bw: bufio.NewWriterSize(f, 256<<10), sum: sha256.New(), hdr: h}
	if _, err := w.bw.Write(line); err != nil {
		f.Close()
		return nil, fmt.Errorf("write manifest %s: %w", path, err)
	}
	return w, nil
}

// add appends one entry line.
func (w *manifestWriter) add(e *ManifestEntry) error {
	b, err := appendManifestEntry(w.line[:0], e)
	if err != nil {
		return fmt.Errorf("encode manifest entry %s: %w", e.Path, err)
	}
	b = append(b, '\n')
	w.line = b
	w.sum.Write(b)
	w.entries++
	if _, err := w.bw.Write(b); err != nil {
		return fmt.Errorf("write manifest %s: %w", w.f.Name(), err)
	}
	return nil
}

// finish writes the trailer, puts the final counts into the header and
// fsyncs the manifest: only then is the backup complete.
func (w *manifestWriter) finish(st Stats, hardLinks int64) error {
	t, err := json.Marshal(manifestTrailer{Trailer: "sha256", Entries: w.entries, SHA256: hex.EncodeToString(w.sum.Sum(nil))})
	if err != nil {
		return fmt.Errorf("encode manifest trailer: %w", err)
	}
	name := w.f.Name()
	if _, err := w.bw.Write(append(t, '\n')); err != nil {
		return fmt.Errorf("write manifest %s: %w", name, err)
	}
	if err := w.bw.Flush(); err != nil {
		return fmt.Errorf("write manifest %s: %w", name, err)
	}
	h := w.hdr
	h.Files, h.Dirs, h.Symlinks, h.HardLinks, h.Bytes = st.Files, st.Dirs, st.Symlinks, hardLinks, st.Bytes
	line, err := h.headerLine()
	if err != nil {
		return err
	}
	if _, err := w.f.WriteAt(line, 0); err != nil {
		return fmt.Errorf("write manifest header %s: %w", name, err)
	}
	if err := w.f.Sync(); err != nil {
		return fmt.Errorf("fsync manifest %s: %w", name, err)
	}
	return nil
}

// abandon flushes what it can and closes the manifest, which stays without
// a trailer: an incomplete backup that Verify refuses.
func (w *manifestWriter) abandon() {
	w.bw.Flush()
	w.f.Close()
}

// close closes the finished manifest.
func (w *manifestWriter) close() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("close manifest %s: %w", w.f.Name(), err)
	}
	return nil
}

// CorruptBackupError says a backup cannot be trusted: its manifest is
// missing, truncated or altered, or its files differ from the manifest.
type CorruptBackupError struct {
	Dir, Name string
	Problems  []string // the first maxCorruptProblems problems
	Total     int      // all problems found
}

func (e *CorruptBackupError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "backup %s in %s is corrupt: ", e.Name, e.Dir)
	b.WriteString(strings.Join(e.Problems, "; "))
	if more := e.Total - len(e.Problems); more > 0 {
		fmt.Fprintf(&b, "; and %d more problems", more)
	}
	return b.String()
}

// problemList collects problems for a CorruptBackupError.
type problemList struct {
	problems []string
	total    int
}

func (p *problemList) add(format string, args ...any) {
	p.total++
	if len(p.problems) < maxCorruptProblems {
		p.problems = append(p.problems, fmt.Sprintf(format, args...))
	}
}

func (p *problemList) err(dst, name string) error {
	if p.total == 0 {
		return nil
	}
	return &CorruptBackupError{Dir: dst, Name: name, Problems: p.problems, Total: p.total}
}

// errManifestCorrupt marks a structural problem found while reading a
// manifest; callers turn it into a CorruptBackupError.
type manifestCorruptError struct{ msg string }

func (e *manifestCorruptError) Error() string { return e.msg }

func manifestCorrupt(format string, args ...any) error {
	return &manifestCorruptError{msg: fmt.Sprintf(format, args...)}
}

// maxManifestLine bounds one manifest line (a 4 KiB path JSON-escaped
// fits many times over).
const maxManifestLine = 1 << 20

// ReadManifest streams the manifest of backup name in dst: it returns the
// header and calls fn for every entry in order. Entries are passed before
// the trailer is checked, so a caller that must not act on a corrupt
// manifest verifies the backup first. A missing, truncated or altered
// manifest gives a *CorruptBackupError; fn's error is returned as is.
func ReadManifest(dst, name string, fn func(*ManifestEntry) error) (ManifestHeader, error) {
	h, err := readManifest(ManifestPath(dst, name), fn)
	var mc *manifestCorruptError
	if errors.As(err, &mc) {
		var p problemList
		p.add("%s", mc.msg)
		return h, p.err(dst, name)
	}
	return h, err
}

func readManifest(file string, fn func(*ManifestEntry) error) (ManifestHeader, error) {
	var h ManifestHeader
	f, err := os.Open(file)
	if errors.Is(err, fs.ErrNotExist) {
		return h, manifestCorrupt("manifest %s is missing", file)
	}
	if err != nil {
		return h, fmt.Errorf("open manifest: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), maxManifestLine)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return h, fmt.Errorf("read manifest %s: %w", file, err)
		}
		return h, manifestCorrupt("manifest %s is empty", file)
	}
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.Format != ManifestFormat {
		return h, manifestCorrupt("manifest %s: bad header line", file)
	}
	sum := sha256.New()
	var n, lineNo int64 = 0, 1
	var counts [3]int64 // files, dirs, symlinks
	var trailer *manifestTrailer
	for sc.Scan() {
		lineNo++
		line := sc.Bytes()
		if trailer != nil {
			return h, manifestCorrupt("manifest %s: line %d after the trailer", file, lineNo)
		}
		if bytes.HasPrefix(line, []byte(trailerPrefix)) {
			trailer = new(manifestTrailer)
			if err := json.Unmarshal(line, trailer); err != nil {
				return h, manifestCorrupt("manifest %s: bad trailer line %d", file, lineNo)
			}
			continue
		}
		sum.Write(line)
		sum.Write([]byte{'\n'})
		var e ManifestEntry
		if err := parseManifestEntry(line, &e); err != nil {
			return h, manifestCorrupt("manifest %s: bad entry on line %d", file, lineNo)
		}
		if err := checkEntry(&e); err != nil {
			return h, manifestCorrupt("manifest %s: line %d: %v", file, lineNo, err)
		}
		n++
		switch e.Type {
		case EntryFile:
			counts[0]++
		case EntryDir:
			counts[1]++
		case EntrySymlink:
			counts[2]++
		}
		if fn != nil {
			if err := fn(&e); err != nil {
				return h, err
			}
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return h, manifestCorrupt("manifest %s: line %d too long", file, lineNo+1)
		}
		return h, fmt.Errorf("read manifest %s: %w", file, err)
	}
	switch {
	case trailer == nil:
		return h, manifestCorrupt("manifest %s is truncated or its backup never finished: no trailer after %d entries", file, n)
	case trailer.Entries != n || trailer.SHA256 != hex.EncodeToString(sum.Sum(nil)):
		return h, manifestCorrupt("manifest %s: entries do not match the trailer checksum (%d entries read, trailer says %d)", file, n, trailer.Entries)
	case !h.Complete() || h.Files != counts[0] || h.Dirs != counts[1] || h.Symlinks != counts[2]:
		return h, manifestCorrupt("manifest %s: header counts (%d files, %d dirs, %d symlinks) do not match its entries (%d, %d, %d)",
			file, h.Files, h.Dirs, h.Symlinks, counts[0], counts[1], counts[2])
	}
	return h, nil
}

// checkEntry rejects entries that would make a restore write outside its
// root or that make no sense.
func checkEntry(e *ManifestEntry) error {
	if err := checkRelPath(e.Path); err != nil {
		return err
	}
	switch e.Type {
	case EntryFile:
		if e.HardLink != "" {
			return checkRelPath(e.HardLink)
		}
		if len(e.SHA256) != 64 {
			return fmt.Errorf("%s: bad sha256", e.Path)
		}
	case EntryDir, EntrySymlink:
	default:
		return fmt.Errorf("%s: unknown type %q", e.Path, e.Type)
	}
	if e.Path == "." && e.Type != EntryDir {
		return fmt.Errorf("root entry is a %s", e.Type)
	}
	return nil
}

// checkRelPath accepts "." and clean slash-separated relative paths that
// stay inside their root.
func checkRelPath(p string) error {
	if p == "." {
		return nil
	}
	if p == "" || path.IsAbs(p) || path.Clean(p) != p || p == ".." || strings.HasPrefix(p, "../") {
		return fmt.Errorf("bad relative path %q", p)
	}
	return nil
}

// cleanRelPaths validates and cleans a list of relative paths (exclude or
// keep lists), accepting OS separators and a leading "./".
func cleanRelPaths(what string, in []string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, p := range in {
		c := path.Clean(filepath.ToSlash(p))
		if c == "." || checkRelPath(c) != nil {
			return nil, fmt.Errorf("%s path %q: must be relative, inside the root and not the root itself", what, p)
		}
		out = append(out, c)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// relSet is a set of relative paths with prefix queries.
type relSet map[string]bool

func newRelSet(paths []string) relSet {
	s := relSet{}
	for _, p := range paths {
		s[p] = true
	}
	return s
}

// has reports whether p is in the set.
func (s relSet) has(p string) bool { return s[p] }

// under reports whether p is in the set or below a member.
func (s relSet) under(p string) bool {
	for q := range s {
		if p == q || strings.HasPrefix(p, q+"/") {
			return true
		}
	}
	return false
}

// above reports whether a member lies strictly below directory p.
func (s relSet) above(p string) bool {
	for q := range s {
		if p == "." || strings.HasPrefix(q, p+"/") {
			return true
		}
	}
	return false
}

// manifestPathSet holds a 64-bit hash of every path of a manifest: 8 bytes
// an entry instead of the entries, so a restore or compare of a million
// files can tell which paths on disk are not in the backup. Two paths
// sharing a hash (odds about n²/2⁶⁵) would hide one extra file.
type manifestPathSet struct {
	seed   maphash.Seed
	hashes []uint64
}

func newManifestPathSet() *manifestPathSet { return &manifestPathSet{seed: maphash.MakeSeed()} }

func (s *manifestPathSet) add(p string) { s.hashes = append(s.hashes, maphash.String(s.seed, p)) }

// seal sorts the set for lookups.
func (s *manifestPathSet) seal() { slices.Sort(s.hashes) }

func (s *manifestPathSet) has(p string) bool {
	_, ok := slices.BinarySearch(s.hashes, maphash.String(s.seed, p))
	return ok
}

// relJoin joins a relative directory and a name.
func relJoin(dir, name string) string {
	if dir == "." {
		return name
	}
	return dir + "/" + name
}

// absPath maps a relative manifest path below root.
func absPath(root, rel string) string {
	if rel == "." {
		return root
	}
	return filepath.Join(root, filepath.FromSlash(rel))
}
