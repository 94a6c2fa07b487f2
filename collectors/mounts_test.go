package collectors

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msguard/msguard/internal/mountinfo"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/collectors/facts"
)

func TestParseMountInfo(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []mountinfo.Entry
		wantErr bool
	}{
		{
			name: "optional fields and escapes",
			in: "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n" +
				"40 22 7:0 / /srv/mail\\040store rw,noatime - ext4 /dev/loop0 rw\n" +
				"41 22 0:5 / /tmp rw - tmpfs tmpfs\n",
			want: []mountinfo.Entry{
				{MountPoint: "/", FSType: "ext4", Source: "/dev/sda1", Options: "rw,relatime,rw,errors=remount-ro"},
				{MountPoint: "/srv/mail store", FSType: "ext4", Source: "/dev/loop0", Options: "rw,noatime,rw"},
				{MountPoint: "/tmp", FSType: "tmpfs", Source: "tmpfs", Options: "rw"},
			},
		},
		{name: "no separator", in: "22 1 8:1 / / rw,relatime shared:1 ext4 /dev/sda1 rw\n", wantErr: true},
		{name: "short", in: "22 1 8:1 /\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mountinfo.Parse(strings.NewReader(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("entry %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestCollectMounts(t *testing.T) {
	base := t.TempDir()
	root := filepath.Join(base, "server5")
	inst := filepath.Join(root, "msg-budgie")
	store := filepath.Join(inst, "store", "partition", "primary")
	if err := os.MkdirAll(store, 0o755); err != nil {
		t.Fatal(err)
	}
	tg := &Target{host: LiveHost{}, Root: root, InstDir: inst, Options: Options{BackupDir: filepath.Join(base, "backups", "not-yet")}}

	s := &facts.Snapshot{}
	partial, err := collectMounts(context.Background(), tg, s)
	if err != nil || len(partial) > 0 {
		t.Fatalf("collectMounts: partial %v err %v", partial, err)
	}
	if s.Mounts.Store.MountPoint {
		t.Errorf("plain directory reported as a mount point: %+v", s.Mounts.Store)
	}
	for _, k := range []string{"server_root", "store", "backup"} {
		ds, ok := s.Mounts.Filesystems[k]
		if !ok || ds.TotalBytes == 0 || ds.FreeBytes > ds.TotalBytes || ds.MountPoint == "" || ds.UsedBytes != 0 {
			t.Errorf("filesystem %s = %+v (present %v)", k, ds, ok)
		}
	}

	// The store on its own filesystem.
	if err := unix.Mount("tmpfs", store, "tmpfs", 0, "size=8m"); err != nil {
		t.Fatalf("mount tmpfs on %s (tests run as root): %v", store, err)
	}
	defer func() {
		if err := unix.Unmount(store, 0); err != nil {
			t.Errorf("unmount %s: %v", store, err)
		}
	}()
	s = &facts.Snapshot{}
	if _, err := collectMounts(context.Background(), tg, s); err != nil {
		t.Fatal(err)
	}
	sm := s.Mounts.Store
	if !sm.MountPoint || sm.FSType != "tmpfs" || sm.Device != "tmpfs" || !strings.Contains(sm.Options, "size=8192k") {
		t.Errorf("store mount = %+v, want a tmpfs mount point", sm)
	}
	if ds := s.Mounts.Filesystems["store"]; ds.MountPoint != store || ds.TotalBytes != 8<<20 {
		t.Errorf("store filesystem = %+v, want the 8 MiB tmpfs at %s", ds, store)
	}
	if ds := s.Mounts.Filesystems["server_root"]; ds.MountPoint == store {
		t.Errorf("server root measured on the store's filesystem: %+v", ds)
	}
}
