package remediate

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// TestCopyFileStreams: copyFile saves a file of any size without holding
// it in memory (db2ldif's export of 10^6 entries is half a gigabyte) and
// gives the copy the same bytes and the mode asked for.
func TestCopyFileStreams(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "export.ldif"), filepath.Join(dir, "saved.ldif")
	const size = 64 << 20
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	head := []byte("version: 1\n\ndn: o=siroe.com\n")
	if _, err := f.Write(head); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil { // the rest a hole: no disk used
		t.Fatal(err)
	}
	f.Close()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if err := copyFile(src, dst, 0o600); err != nil {
		t.Fatalf("copyFile: %v", err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("copyFile of %d MiB allocated %d MiB: it must stream", size>>20, grew>>20)
	}
	fi, err := os.Stat(dst)
	if err != nil || fi.Size() != size || fi.Mode().Perm() != 0o600 {
		t.Fatalf("copy: %v, %v; want %d bytes, mode 0600", fi, err, size)
	}
	got := make([]byte, len(head))
	g, _ := os.Open(dst)
	defer g.Close()
	if _, err := g.Read(got); err != nil || !bytes.Equal(got, head) {
		t.Errorf("copy starts %q (%v); want %q", got, err, head)
	}
}
