package collectors

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/mountinfo"
)

// mountFor returns the entry whose mount point is the longest prefix of
// path (the last such line wins: later mounts hide earlier ones).
func mountFor(mounts []mountinfo.Entry, path string) (mountinfo.Entry, bool) {
	var best mountinfo.Entry
	found := false
	for _, m := range mounts {
		if !pathUnder(path, m.MountPoint) {
			continue
		}
		if !found || len(m.MountPoint) >= len(best.MountPoint) {
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
	mounts, err := t.host.Mounts()
	if err != nil {
		return nil, err
	}
	m, partial := mountFacts(t.host, mounts, t.Root, filepath.Join(t.InstDir, "store", "partition", "primary"), t.BackupDir)
	s.Mounts = m
	return partial, ctx.Err()
}

// mountFacts builds the facts from a parsed mount table.
func mountFacts(h Host, mounts []mountinfo.Entry, root, store, backup string) (*facts.Mounts, []string) {
	var partial []string
	m := &facts.Mounts{
		Store:       facts.StoreMount{Path: store},
		Filesystems: map[string]facts.DiskSpace{},
	}
	if real, err := h.RealPath(store); err == nil {
		if e, ok := mountFor(mounts, real); ok && e.MountPoint == real {
			m.Store.MountPoint = true
			m.Store.Device, m.Store.FSType, m.Store.Options = e.Source, e.FSType, e.Options
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		partial = append(partial, fmt.Sprintf("store partition %s: %v", store, unwrapPath(err)))
	}
	for _, p := range []struct{ key, path string }{{"server_root", root}, {"store", store}, {"backup", backup}} {
		if p.path == "" {
			continue
		}
		ds, err := h.DiskSpace(mounts, p.path, p.key == "backup")
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
func diskSpace(mounts []mountinfo.Entry, path string, nearest bool) (facts.DiskSpace, error) {
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
		ds.MountPoint = e.MountPoint
	}
	return ds, nil
}
