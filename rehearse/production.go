package rehearse

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Fingerprint is what production looked like: every entry below the
// overlaid directories with its type, mode, owner, size, modification
// time and link target, written in walk order to a listing file, and the
// SHA-256 of that listing. Two fingerprints with the same digest mean
// nothing below those directories was created, removed, written or
// changed in mode or owner between them; FirstDifference compares two
// listings leaving out what production's own daemons write as they serve.
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

// LiveFiles are the regular files below dirs that a running process holds
// open for writing: the logs production's daemons write as they serve. A
// rehearsal compares them by type, mode, owner and link only (see
// FirstDifference): their size and time follow production's own work.
func LiveFiles(dirs []string) map[string]bool {
	live := map[string]bool{}
	procs, _ := os.ReadDir("/proc")
	for _, pe := range procs {
		if _, err := strconv.Atoi(pe.Name()); err != nil {
			continue
		}
		fdDir := filepath.Join("/proc", pe.Name(), "fd")
		fds, _ := os.ReadDir(fdDir)
		for _, fe := range fds {
			target, err := os.Readlink(filepath.Join(fdDir, fe.Name()))
			if err != nil || !below(target, dirs) {
				continue
			}
			info, err := os.ReadFile(filepath.Join("/proc", pe.Name(), "fdinfo", fe.Name()))
			if err != nil {
				continue
			}
			if flags, ok := fdFlags(string(info)); ok && flags&syscall.O_ACCMODE != syscall.O_RDONLY {
				if fi, err := os.Lstat(target); err == nil && fi.Mode().IsRegular() {
					live[target] = true
				}
			}
		}
	}
	return live
}

// fdFlags reads the "flags:" line (octal) of a /proc/PID/fdinfo/FD.
func fdFlags(info string) (int, bool) {
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(l, "flags:"); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 8, 64)
			return int(n), err == nil
		}
	}
	return 0, false
}

func below(p string, dirs []string) bool {
	for _, d := range dirs {
		if p == d || strings.HasPrefix(p, d+string(filepath.Separator)) {
			return true
		}
	}
	return false
}

// withoutSizeAndTime is a listing line with its size and time left out.
func withoutSizeAndTime(line string) (path, masked string) {
	q, err := strconv.QuotedPrefix(line)
	if err != nil {
		return "", line
	}
	path, _ = strconv.Unquote(q)
	f := strings.SplitN(strings.TrimPrefix(line, q+" "), " ", 5)
	if len(f) == 5 {
		f[2], f[3] = "-", "-"
	}
	return path, q + " " + strings.Join(f, " ")
}

// FirstDifference names the first line where two listings differ ("" when
// they are equal); the files of live differ only in type, mode, owner or
// link, or by being created or removed.
func FirstDifference(a, b string, live map[string]bool) (string, error) {
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
			pa, ma := withoutSizeAndTime(sa.Text())
			pb, mb := withoutSizeAndTime(sb.Text())
			if pa == pb && live[pa] && ma == mb {
				continue
			}
			return "was: " + sa.Text() + "; now: " + sb.Text(), nil
		}
	}
}
