// Reporting a full backup destination: how much more space is needed.

package treebackup

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/internal/exitcode"
)

// isNoSpace reports whether err says the file system or quota is full.
func isNoSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// backupWriteError turns a full destination into the operator's message
// (how much more space is needed) with exit code Runtime; other errors
// pass through.
func backupWriteError(err error, dst, src string, exclude []string, copied int64) error {
	if !isNoSpace(err) {
		return err
	}
	total, entries := treeSize(src, newRelSet(exclude))
	need := max(total-copied, 0) + entries*manifestBytesPerEntry
	var free int64
	var sfs unix.Statfs_t
	if unix.Statfs(dst, &sfs) == nil {
		free = int64(sfs.Bavail) * int64(sfs.Bsize)
	}
	return exitcode.Wrap(exitcode.Runtime, fmt.Errorf(
		"backup destination %s is full: need about %d more bytes (%s more; copied %s of %s from %s, %s free there; the partial backup is left, marked incomplete): %w",
		dst, need, humanBytes(need), humanBytes(copied), humanBytes(total), src, humanBytes(free), err))
}

// manifestBytesPerEntry estimates one manifest line, for space estimates.
const manifestBytesPerEntry = 256

// treeSize sums the sizes of the regular files below root (outside the
// excluded paths) and counts its entries; errors are skipped: it only
// feeds an estimate.
func treeSize(root string, exclude relSet) (bytes, entries int64) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		if exclude.has(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		entries++
		if d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				bytes += fi.Size()
			}
		}
		return nil
	})
	return bytes, entries
}

// humanBytes renders n in binary units: "1.5 MiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
