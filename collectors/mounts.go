package collectors

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/collectors/facts"
)

func init() { register(facts.CollectorMounts, collectMounts) }

// mountInfoPath is the kernel's mount table for this process.
const mountInfoPath = "/proc/self/mountinfo"

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	mountPoint string
	fsType     string
	source     string
	options    string // per-mount options, then the superblock's
}

// parseMountInfo reads mountinfo lines (proc(5)): ID parent maj:min root
// mount-point options [optional fields...] - fstype source super-options.
func parseMountInfo(r io.Reader) ([]mountEntry, error) {
	var out []mountEntry
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for n := 1; sc.Scan(); n++ {
		f := strings.Fields(sc.Text())
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if len(f) < 6 || sep < 0 || len(f) < sep+3 {
			return nil, fmt.Errorf("mountinfo line %d: malformed", n)
		}
		e := mountEntry{
			mountPoint: unescapeMount(f[4]),
			fsType:     f[sep+1],
			source:     unescapeMount(f[sep+2]),
			options:    f[5],
		}
		if len(f) > sep+3 && f[sep+3] != "" {
			e.options += "," + f[sep+3]
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// unescapeMount undoes the kernel's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountFor returns the entry whose mount point is the longest prefix of
// path (the last such line wins: later mounts hide earlier ones).
func mountFor(mounts []mountEntry, path string) (mountEntry, bool) {
	var best mountEntry
	found := false
	for _, m := range mounts {
		if !pathUnder(path, m.mountPoint) {
			continue
		}
		if !found || len(m.mountPoint) >= len(best.mountPoint) {
			best, found = m, true
		}
	}
	return best, found
}

// pathUnder reports whether p is dir or below it (both clean, absolute).
func pathUnder(p, dir string) bool {
	if dir == "/" || p == dir {
		return true
	}
	return strings.HasPrefix(p, dir+string(filepath.Separator))
}

// collectMounts reads the mount table once and reports whether the store
// partition is a mount point, and the free space for the server root, the
// store and the backup destination.
func collectMounts(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	f, err := os.Open(mountInfoPath)
	if err != nil {
		return nil, fmt.Errorf("mount table: %w", err)
	}
	mounts, err := parseMountInfo(f)
	f.Close()
	if err != nil {
		return nil, err
	}
	m, partial := mountFacts(mounts, t.Root, filepath.Join(t.InstDir, "store", "partition", "primary"), t.BackupDir)
	s.Mounts = m
	return partial, ctx.Err()
}

// mountFacts builds the facts from a parsed mount table.
func mountFacts(mounts []mountEntry, root, store, backup string) (*facts.Mounts, []string) {
	var partial []string
	m := &facts.Mounts{
		Store:       facts.StoreMount{Path: store},
		Filesystems: map[string]facts.DiskSpace{},
	}
	if real, err := filepath.EvalSymlinks(store); err == nil {
		if e, ok := mountFor(mounts, real); ok && e.mountPoint == real {
			m.Store.MountPoint = true
			m.Store.Device, m.Store.FSType, m.Store.Options = e.source, e.fsType, e.options
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		partial = append(partial, fmt.Sprintf("store partition %s: %v", store, unwrapPath(err)))
	}
	for _, p := range []struct{ key, path string }{{"server_root", root}, {"store", store}, {"backup", backup}} {
		if p.path == "" {
			continue
		}
		ds, err := diskSpace(mounts, p.path, p.key == "backup")
		if err != nil {
			if p.key == "store" && errors.Is(err, fs.ErrNotExist) {
				continue // reported by the store collector
			}
			partial = append(partial, err.Error())
			continue
		}
		m.Filesystems[p.key] = ds
	}
	return m, partial
}

// diskSpace statfs-es the filesystem holding path. A backup destination
// that does not exist yet is measured at its nearest existing ancestor.
func diskSpace(mounts []mountEntry, path string, nearest bool) (facts.DiskSpace, error) {
	ds := facts.DiskSpace{Path: path}
	probe, err := filepath.Abs(path)
	if err != nil {
		return ds, fmt.Errorf("free space of %s: %w", path, err)
	}
	for {
		real, err := filepath.EvalSymlinks(probe)
		if err == nil {
			probe = real
			break
		}
		parent := filepath.Dir(probe)
		if !nearest || !errors.Is(err, fs.ErrNotExist) || parent == probe {
			return ds, fmt.Errorf("free space of %s: %w", path, unwrapPath(err))
		}
		probe = parent
	}
	var st unix.Statfs_t
	if err := unix.Statfs(probe, &st); err != nil {
		return ds, fmt.Errorf("free space of %s: %w", path, err)
	}
	ds.TotalBytes = st.Blocks * uint64(st.Bsize)
	ds.FreeBytes = st.Bavail * uint64(st.Bsize)
	if e, ok := mountFor(mounts, probe); ok {
		ds.MountPoint = e.mountPoint
	}
	return ds, nil
}
