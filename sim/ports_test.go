package sim

import (
	"os"
	"path/filepath"
	"testing"
)

// TestPortReservations: a port reserved by a host that exists is refused
// to another host, a stale reservation (its root is gone) is taken over,
// and ReleasePorts frees only the ports of its own root.
func TestPortReservations(t *testing.T) {
	PortReservations = t.TempDir()
	live := t.TempDir()
	if err := os.MkdirAll(Paths{Root: live}.StateDir(), 0o755); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(t.TempDir(), "destroyed")
	other := filepath.Join(t.TempDir(), "other")

	if !reservePort(20001, live) {
		t.Fatal("a free port could not be reserved")
	}
	if reservePort(20001, other) {
		t.Error("a port reserved by a live host was given to another host")
	}
	if !reservePort(20002, gone) {
		t.Fatal("a free port could not be reserved")
	}
	if !reservePort(20002, other) {
		t.Error("a stale reservation (its host is gone) was not taken over")
	}
	l, err := ListenFreePort(live)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	ReleasePorts(live)
	entries, _ := os.ReadDir(PortReservations)
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(PortReservations, e.Name()))
		if string(b) == live {
			t.Errorf("ReleasePorts left %s reserved for %s", e.Name(), live)
		}
	}
	if len(entries) != 1 {
		t.Errorf("after ReleasePorts(%s): %d reservations left; want 1 (port 20002 of the other host)", live, len(entries))
	}
}
