package mailflow

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// QueueDir is the MTA queue directory (INST/imta/queue: a directory per
// channel, optionally numbered subdirectories, a file per message). Find
// reads only files modified at or after Since, and only their first
// 64 KiB (the probe message is small), so that a queue of 10⁶ old
// messages costs a directory walk, not a read of each.
type QueueDir struct {
	Dir   string
	Since time.Time
}

// Find returns the queue files (relative to Dir, channel first) that hold
// tag, temporary ($) files included: a message being written is queued.
func (q QueueDir) Find(ctx context.Context, tag string) ([]string, error) {
	var out []string
	needle := []byte(tag)
	since := q.Since.Add(-2 * time.Second) // coarse file system clocks
	err := filepath.WalkDir(q.Dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && path != q.Dir {
				return nil // delivered while we walked
			}
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // gone since the listing: delivered
		}
		if info.ModTime().Before(since) {
			return nil
		}
		if holds(path, needle) {
			rel, _ := filepath.Rel(q.Dir, path)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out, err
}

// Remove deletes a queue file Find returned: one that holds the probe's
// random tag, so never another message.
func (q QueueDir) Remove(rel string) error {
	return os.Remove(filepath.Join(q.Dir, filepath.FromSlash(rel)))
}

// holds reports whether the first 64 KiB of the file hold needle.
func holds(path string, needle []byte) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 64<<10))
	return bytes.Contains(b, needle)
}
