package mountinfo

import (
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := "36 35 98:0 /mnt1 /mnt/with\\040space rw,noatime master:1 - ext4 /dev/loop0 rw,errors=continue\n" +
		"37 35 0:5 / /proc rw - proc proc rw\n"
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Entry{
		{MountPoint: "/mnt/with space", FSType: "ext4", Source: "/dev/loop0", Options: "rw,noatime,rw,errors=continue"},
		{MountPoint: "/proc", FSType: "proc", Source: "proc", Options: "rw,rw"},
	}
	if len(got) != len(want) {
		t.Fatalf("Parse = %+v; want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("entry %d = %+v; want %+v", i, got[i], want[i])
		}
	}
	if _, err := Parse(strings.NewReader("1 2 3\n")); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("malformed line: %v", err)
	}
}

func TestIsMountPoint(t *testing.T) {
	for _, tt := range []struct {
		path string
		want bool
	}{{"/proc", true}, {"/proc/", true}, {"/proc/self", false}} {
		got, err := IsMountPoint(tt.path)
		if err != nil || got != tt.want {
			t.Errorf("IsMountPoint(%q) = %v, %v; want %v", tt.path, got, err, tt.want)
		}
	}
}
