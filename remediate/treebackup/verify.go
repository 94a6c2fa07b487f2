package treebackup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Verify re-reads every file of backup name in dst and compares its
// size and SHA-256 with the manifest; directories, symlinks and hard links
// are checked too, and the manifest's trailer proves the manifest whole.
// A backup that fails gives a *CorruptBackupError listing up to 20
// problems.
//
// The files are read back through the page cache, as any reader would get
// them: right after Backup most come from memory, not from the disk.
// That checks that the backup holds what the manifest says (no file
// missing, cut short or altered since); that it reached the disk is
// Backup's syncfs before it writes the manifest's trailer, not this
// re-read. No cache is dropped (dropping would evict other programs'
// pages too).
func Verify(ctx context.Context, dst, name string) error {
	return verifyBackup(ctx, dst, name, nil, readBack, nil)
}

// verifyHow says how verifyBackup checks each file of a backup.
type verifyHow int

const (
	// readBack re-reads every file and compares its size and SHA-256.
	readBack verifyHow = iota
	// statOnly compares every entry's stat with what a sealed re-read
	// saw (Reverify): no file is read.
	statOnly
)

// verifyBackup is Verify; each, when set, is called with every entry
// of the manifest in order (from one goroutine), so that a restore learns
// the backup's paths in the same read of the manifest. When stats is set,
// every entry's stat in the backup goes into it (VerifyAndSeal, Reverify);
// how statOnly needs stats.
func verifyBackup(ctx context.Context, dst, name string, each func(*ManifestEntry), how verifyHow, stats *statPrint) error {
	data := DataDir(dst, name)
	var mu sync.Mutex
	var probs problemList
	add := func(format string, args ...any) {
		mu.Lock()
		probs.add(format, args...)
		mu.Unlock()
	}
	pool := startTreePool(ctx, func(_ context.Context, w *fileWorker, batch []ManifestEntry) error {
		var acc statAcc
		for i := range batch {
			e := &batch[i]
			dir, base := splitRel(e.Path)
			dfd, err := w.dir[0].get(data, dir)
			var n int64
			var sum []byte
			if err == nil {
				if how == statOnly {
					n, err = w.statFileAt(dfd, base)
				} else {
					n, sum, err = w.hashFileAt(dfd, base)
				}
			}
			switch {
			case errors.Is(err, fs.ErrNotExist):
				add("missing file %s", e.Path)
			case err != nil:
				add("unreadable file %s: %v", e.Path, err)
			case n != e.Size:
				add("size of %s: %d bytes, manifest says %d", e.Path, n, e.Size)
			case how == readBack && string(sum) != e.SHA256:
				add("sha256 of %s: %.12s…, manifest says %.12s…", e.Path, sum, e.SHA256)
			default:
				if stats != nil {
					acc.add(e.Path, &w.st)
				}
			}
		}
		if stats != nil {
			stats.merge(&acc)
		}
		return nil
	})
	batches := &entryBatcher{pool: pool}
	var mainAcc statAcc
	printPath := func(rel, p string) {
		var st unix.Stat_t
		if stats != nil && unix.Lstat(p, &st) == nil {
			mainAcc.add(rel, &st)
		}
	}
	_, rerr := readManifest(ManifestPath(dst, name), func(e *ManifestEntry) error {
		if each != nil {
			each(e)
		}
		p := absPath(data, e.Path)
		switch {
		case e.Type == EntryDir:
			if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
				add("missing directory %s", e.Path)
			} else {
				printPath(e.Path, p)
			}
		case e.Type == EntrySymlink:
			if t, err := os.Readlink(p); err != nil {
				add("missing symlink %s", e.Path)
			} else if t != e.Target {
				add("symlink %s points to %q, manifest says %q", e.Path, t, e.Target)
			} else {
				printPath(e.Path, p)
			}
		case e.HardLink != "":
			a, err1 := os.Lstat(p)
			b, err2 := os.Lstat(absPath(data, e.HardLink))
			if err1 != nil || err2 != nil || !os.SameFile(a, b) {
				add("hard link %s is not a link to %s", e.Path, e.HardLink)
			} else {
				printPath(e.Path, p)
			}
		default:
			return batches.add(*e)
		}
		return nil
	})
	if rerr == nil {
		rerr = batches.flush()
	}
	perr := pool.wait(ctx)
	if stats != nil {
		stats.merge(&mainAcc)
	}
	var mc *manifestCorruptError
	switch {
	case errors.As(rerr, &mc):
		add("%s", mc.msg)
	case rerr != nil && !errors.Is(rerr, context.Canceled):
		return fmt.Errorf("verify backup %s: %w", name, rerr)
	}
	if perr != nil {
		return fmt.Errorf("verify backup %s: %w", name, perr)
	}
	return probs.err(dst, name)
}
