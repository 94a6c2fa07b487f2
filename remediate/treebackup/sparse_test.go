package treebackup

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// TestSparseFiles: a large file's holes stay holes in the backup and in
// the restored tree (a sparse database map costs its data, not its size),
// its content is the same byte for byte and verifies against the
// manifest; a large file without holes and one that ends in data round
// trip too.
func TestSparseFiles(t *testing.T) {
	const mib = 1 << 20
	data := make([]byte, 3*copyBufSize+123)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		size   int64
		writes map[int64][]byte // offset -> data
		sparse bool             // the copies must allocate far less than size
	}{
		{"holes around data", 64 * mib, map[int64][]byte{0: data[:4096], 32 * mib: data}, true},
		{"all hole", 16 * mib, nil, true},
		{"data at the end", 16 * mib, map[int64][]byte{16*mib - int64(len(data)): data}, true},
		{"no hole", int64(len(data)), map[int64][]byte{0: data}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			root, dst, back := filepath.Join(dir, "root"), filepath.Join(dir, "backup"), filepath.Join(dir, "restored")
			if err := os.MkdirAll(root, 0o755); err != nil {
				t.Fatal(err)
			}
			src := filepath.Join(root, "data.mdb")
			f, err := os.Create(src)
			if err != nil {
				t.Fatal(err)
			}
			for off, b := range tc.writes {
				if _, err := f.WriteAt(b, off); err != nil {
					t.Fatal(err)
				}
			}
			if err := f.Truncate(tc.size); err != nil {
				t.Fatal(err)
			}
			f.Close()
			if _, err := Backup(ctx, root, dst, "t", nil); err != nil {
				t.Fatalf("Backup: %v", err)
			}
			if err := Verify(ctx, dst, "t"); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if err := Restore(ctx, dst, "t", back, nil); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			want := mustRead(t, src)
			for _, p := range []string{filepath.Join(DataDir(dst, "t"), "data.mdb"), filepath.Join(back, "data.mdb")} {
				if got := mustRead(t, p); !bytes.Equal(got, want) {
					t.Errorf("%s: content differs (%d bytes, want %d)", p, len(got), len(want))
				}
				var st syscall.Stat_t
				if err := syscall.Stat(p, &st); err != nil {
					t.Fatal(err)
				}
				if alloc := st.Blocks * 512; tc.sparse && alloc > 4*mib {
					t.Errorf("%s: %d bytes allocated for %d bytes of data in a %d byte file: the holes were written", p, alloc, len(data)+4096, tc.size)
				}
			}
		})
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
