package rehearse

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// Fingerprint is what production looked like: every entry below the
// overlaid directories with its type, mode, owner, size, modification
// time and link target, written in walk order to a listing file, and the
// SHA-256 of that listing. Two fingerprints with the same digest mean
// nothing below those directories was created, removed, written or
// changed in mode or owner between them.
type Fingerprint struct {
	Digest  string
	Entries int64
	Listing string // the listing file
}

// TakeFingerprint walks dirs (streamed: the listing goes to a file, never
// to memory) and writes the listing to listing.
func TakeFingerprint(dirs []string, listing string) (Fingerprint, error) {
	fp := Fingerprint{Listing: listing}
	f, err := os.OpenFile(listing, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fp, err
	}
	defer f.Close()
	h := sha256.New()
	w := bufio.NewWriter(f)
	for _, dir := range dirs {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return fmt.Errorf("fingerprint %s: %w", p, err)
			}
			fi, err := d.Info()
			if err != nil {
				return fmt.Errorf("fingerprint %s: %w", p, err)
			}
			var uid, gid uint32
			if st, ok := fi.Sys().(*syscall.Stat_t); ok {
				uid, gid = st.Uid, st.Gid
			}
			link := ""
			if fi.Mode()&fs.ModeSymlink != 0 {
				link, _ = os.Readlink(p)
			}
			size := fi.Size()
			if fi.IsDir() {
				size = 0 // a directory's size follows its entries, listed anyway
			}
			line := fmt.Sprintf("%q %v %d:%d %d %d %q\n", p, fi.Mode(), uid, gid, size, fi.ModTime().UnixNano(), link)
			h.Write([]byte(line))
			fp.Entries++
			_, err = w.WriteString(line)
			return err
		})
		if err != nil {
			return fp, err
		}
	}
	if err := w.Flush(); err != nil {
		return fp, err
	}
	fp.Digest = hex.EncodeToString(h.Sum(nil))
	return fp, f.Close()
}

// FirstDifference names the first line where two listings differ ("" when
// they are equal).
func FirstDifference(a, b string) (string, error) {
	fa, err := os.Open(a)
	if err != nil {
		return "", err
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return "", err
	}
	defer fb.Close()
	sa, sb := bufio.NewScanner(fa), bufio.NewScanner(fb)
	sa.Buffer(make([]byte, 4096), 1<<20)
	sb.Buffer(make([]byte, 4096), 1<<20)
	for {
		okA, okB := sa.Scan(), sb.Scan()
		switch {
		case !okA && !okB:
			return "", nil
		case !okA:
			return "now also: " + sb.Text(), nil
		case !okB:
			return "gone: " + sa.Text(), nil
		case sa.Text() != sb.Text():
			return "was: " + sa.Text() + "; now: " + sb.Text(), nil
		}
	}
}
