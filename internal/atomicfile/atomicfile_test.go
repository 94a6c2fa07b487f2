package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesWithMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if err := os.WriteFile(p, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(p, []byte("new"), 0o600); err != nil {
		t.Fatalf("Write: %v", err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "new" {
		t.Fatalf("content = %q, %v; want new", b, err)
	}
	fi, _ := os.Stat(p)
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v; want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries; want only the file (no temp left)", len(entries))
	}
}

func TestWriteMissingDir(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "no", "such", "f"), []byte("x"), 0o600); err == nil {
		t.Fatal("Write into a missing directory succeeded")
	}
}

// TestWriteToDeviceKeepsIt writes to /dev/null: it must stay the device,
// not become a regular file (that broke every daemon opening /dev/null).
func TestWriteToDeviceKeepsIt(t *testing.T) {
	if err := Write("/dev/null", []byte("x"), 0o644); err != nil {
		t.Fatalf("Write(/dev/null): %v", err)
	}
	fi, err := os.Stat("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v, not a character device", fi.Mode())
	}
	if err := Write(t.TempDir(), []byte("x"), 0o644); err == nil {
		t.Error("Write over a directory succeeded")
	}
}
