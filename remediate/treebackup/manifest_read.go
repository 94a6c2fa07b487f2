// Reading and checking a manifest; the errors of a corrupt backup.

package treebackup

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

// maxCorruptProblems bounds the problems a CorruptBackupError lists.
const maxCorruptProblems = 20

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
