package tree

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/msguard/msguard/sim"
)

func TestExpectedStore(t *testing.T) {
	for _, tc := range []struct {
		s            sim.StoreSpec
		boxes, files int
	}{
		{sim.StoreSpec{}, 50, 200},
		{sim.StoreSpec{Mailboxes: 7, MessagesPerBox: 1}, 7, 14},
		{sim.StoreSpec{Mailboxes: 1000}, 1000, 4000},
	} {
		if b, f := ExpectedStore(tc.s); b != tc.boxes || f != tc.files {
			t.Errorf("ExpectedStore(%+v) = %d, %d; want %d, %d", tc.s, b, f, tc.boxes, tc.files)
		}
	}
}

func TestStoreMailboxContent(t *testing.T) {
	st := newState(t, func(sc *sim.Scenario) { sc.Store = sim.StoreSpec{Mailboxes: 3, MessagesPerBox: 4} })
	if err := writeStore(context.Background(), st, io.Discard); err != nil {
		t.Fatal(err)
	}
	mbox := filepath.Join(st.Paths().Store(), MailboxDir(UserID(2)))
	idx, err := os.ReadFile(filepath.Join(mbox, "store.idx"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(idx), "mailbox: user/user0002/INBOX\n") || !strings.Contains(string(idx), "messages: 4\n") {
		t.Errorf("store.idx:\n%s", idx)
	}
	for m := 1; m <= 4; m++ {
		b, err := os.ReadFile(filepath.Join(mbox, "00", strconv.Itoa(m)+".msg"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), "\nTo: user0002@siroe.com\n") {
			t.Errorf("message %d of user0002:\n%s", m, b)
		}
	}
}

// TestStoreLoopMount really mounts: it builds a tree whose store is a
// loop-mounted ext4 image, unmounts and remounts it, finds the mailboxes
// again, then tears it down through the registered teardown.
func TestStoreLoopMount(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the loop-mount test must run as root")
	}
	for _, tc := range []struct {
		name string
		// unmountFirst: the store is already unmounted at teardown, as
		// after backup.store.
		unmountFirst bool
	}{
		{"mounted at teardown", false},
		{"unmounted before teardown", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newState(t, func(sc *sim.Scenario) {
				sc.Users = 40
				sc.Store = sim.StoreSpec{Mount: true, ImageMB: 32, MessagesPerBox: 2}
				sc.Queue.Messages = 10
			})
			t.Cleanup(func() {
				if st.LoopDevice != "" || st.StoreImage != "" {
					if err := teardownStore(context.Background(), st, io.Discard); err != nil {
						t.Errorf("cleanup: %v", err)
					}
				}
			})
			p := st.Paths()
			if err := writeTree(context.Background(), st, "", io.Discard); err != nil {
				t.Fatalf("writeTree: %v", err)
			}
			img := st.StoreImage
			if img != StoreImagePath(st.Scenario.Root) || strings.HasPrefix(img, st.Scenario.Root+"/") {
				t.Errorf("store image %q, want %q outside the root", img, StoreImagePath(st.Scenario.Root))
			}
			dev := st.LoopDevice
			if !strings.HasPrefix(dev, "/dev/loop") || !loopAttached(dev, img) {
				t.Fatalf("loop device %q not attached to %s", dev, img)
			}
			assertMounted(t, dev, p.Store(), true)
			wantBoxes, wantFiles := ExpectedStore(st.Scenario.Store)
			assertStore(t, p.Store(), wantBoxes, wantFiles)

			mustRun(t, "umount", p.Store())
			assertMounted(t, dev, p.Store(), false)
			if entries, err := os.ReadDir(p.Store()); err != nil || len(entries) != 0 {
				t.Fatalf("unmounted store dir holds %d entries (err %v), want none", len(entries), err)
			}
			if !loopAttached(dev, img) {
				t.Fatal("umount detached the loop device: it must not autoclear")
			}
			mustRun(t, "mount", "-t", "ext4", dev, p.Store())
			assertMounted(t, dev, p.Store(), true)
			assertStore(t, p.Store(), wantBoxes, wantFiles)

			if tc.unmountFirst {
				mustRun(t, "umount", p.Store())
			}
			if err := sim.RunTeardowns(context.Background(), st, io.Discard); err != nil {
				t.Fatalf("teardown: %v", err)
			}
			assertMounted(t, dev, p.Store(), false)
			if loopAttached(dev, img) {
				t.Errorf("%s still attached to %s", dev, img)
			}
			if _, err := os.Stat(img); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("store image still exists (err %v)", err)
			}
			if st.LoopDevice != "" || st.StoreImage != "" {
				t.Errorf("state keeps loop %q image %q", st.LoopDevice, st.StoreImage)
			}
			// A second teardown is a no-op.
			if err := sim.RunTeardowns(context.Background(), st, io.Discard); err != nil {
				t.Errorf("second teardown: %v", err)
			}
		})
	}
}

func TestTeardownPlainStore(t *testing.T) {
	st := newState(t, nil)
	if err := teardownStore(context.Background(), st, io.Discard); err != nil {
		t.Errorf("teardown of an unmounted store: %v", err)
	}
}

func mustRun(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
}

func assertMounted(t *testing.T, dev, dir string, want bool) {
	t.Helper()
	mps, err := MountPoints(dev)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Contains(mps, dir); got != want {
		t.Fatalf("%s mounted on %s = %v, want %v (mounts of the device: %v)", dev, dir, got, want, mps)
	}
}

func assertStore(t *testing.T, dir string, boxes, files int) {
	t.Helper()
	uids, n := walkStore(t, dir)
	if len(uids) != boxes || n != files {
		t.Fatalf("store holds %d mailboxes, %d files; want %d, %d", len(uids), n, boxes, files)
	}
	if _, err := os.Stat(filepath.Join(dir, "lost+found")); err != nil {
		t.Fatalf("store is not the ext4 image (no lost+found): %v", err)
	}
}
