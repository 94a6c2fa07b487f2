package treebackup

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRestoreIntoEmptyRoot restores a backup of a tree spread over many
// directories (copied by several workers at once, hard links across
// directories, a file large enough for the kernel copy) into a root that
// does not exist yet, where files are created in place rather than
// renamed over: the result must be the original tree, exactly.
func TestRestoreIntoEmptyRoot(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dir := t.TempDir()
	root, dst, restored := filepath.Join(dir, "server5"), filepath.Join(dir, "backup"), filepath.Join(dir, "restored")
	backupTestTree(t, root)
	for d := range 12 {
		sub := filepath.Join(root, "msg-budgie", "imta", "queue", "tcp_local", fmt.Sprintf("%03d", d))
		if err := os.MkdirAll(sub, 0o750); err != nil {
			t.Fatal(err)
		}
		for f := range 40 {
			backupTestWrite(t, filepath.Join(sub, fmt.Sprintf("ZZ%02d%04d.00", d, f)), strings.Repeat("x", d*f))
		}
		if err := os.Link(filepath.Join(root, "big.bin"), filepath.Join(sub, "big.link")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("../000", filepath.Join(sub, "first")); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(sub, 1234, 1234); err != nil {
			t.Fatal(err)
		}
	}
	backupTestTimes(t, root)
	orig := treeDigest(t, root)
	st, err := Backup(ctx, root, dst, "server-root", nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := ReadManifest(dst, "server-root", nil)
	if err != nil || h.HardLinks != 1+12 || st.Files != 12*(40+1)+10 {
		t.Fatalf("manifest header %+v, %v; stats %+v", h, err, st)
	}
	if err := Restore(ctx, dst, "server-root", restored, nil); err != nil {
		t.Fatalf("Restore into a new root: %v", err)
	}
	if got := treeDigest(t, restored); got != orig {
		t.Fatalf("restored tree differs from the original:\n%s\nwant\n%s", got, orig)
	}
	if diffs, err := Compare(ctx, dst, "server-root", restored, nil); err != nil || len(diffs) != 0 {
		t.Fatalf("Compare after restore = %q, %v", diffs, err)
	}
	// No temporary names were left behind.
	filepath.WalkDir(restored, func(p string, d os.DirEntry, err error) error {
		if strings.HasPrefix(d.Name(), restoreTempPrefix) {
			t.Errorf("left behind: %s", p)
		}
		return nil
	})
}
