package tree

import (
	"context"
	"errors"
	"fmt"
	"github.com/msguard/msguard/internal/mountinfo"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"github.com/msguard/msguard/sim"
)

// normStore applies the Scenario defaults to a StoreSpec.
func normStore(s sim.StoreSpec) sim.StoreSpec {
	sc := sim.Scenario{Store: s}
	sc.Defaults()
	return sc.Store
}

// ExpectedStore returns what the store of s (after Scenario defaults)
// holds: the number of mailboxes (=<uid> directories) and of regular files
// (one store.idx and MessagesPerBox messages per mailbox).
func ExpectedStore(s sim.StoreSpec) (mailboxes, files int) {
	s = normStore(s)
	return s.Mailboxes, s.Mailboxes * (1 + s.MessagesPerBox)
}

// MailboxDir is the directory of uid's mailbox relative to the partition:
// =user/<hh>/<hh>/=<uid>, the two <hh> levels from a hash of the uid.
func MailboxDir(uid string) string {
	h := fnv.New32a()
	h.Write([]byte(uid))
	v := h.Sum32()
	return filepath.Join("=user", fmt.Sprintf("%02x", v>>24), fmt.Sprintf("%02x", (v>>16)&0xff), "="+uid)
}

// StoreImagePath is where the loop image of a mounted store lives: beside
// the root, filepath.Dir(root)/.<base(root)>-store.img.
func StoreImagePath(root string) string {
	return filepath.Join(filepath.Dir(root), "."+filepath.Base(root)+"-store.img")
}

// writeStore writes the mailboxes into INST/store/partition/primary,
// first mounting a loop-backed ext4 image there when Store.Mount.
func writeStore(ctx context.Context, st *sim.State, log io.Writer) error {
	s := normStore(st.Scenario.Store)
	dir := st.Paths().Store()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create store partition: %w", err)
	}
	if s.Mount {
		if err := mountStore(ctx, st, s); err != nil {
			return err
		}
	}
	if err := writeMailboxes(ctx, dir, s, st.Scenario.Host); err != nil {
		if s.Mount {
			if terr := teardownStore(ctx, st, log); terr != nil {
				err = errors.Join(err, terr)
			}
		}
		return err
	}
	return nil
}

func writeMailboxes(ctx context.Context, dir string, s sim.StoreSpec, host string) error {
	idx := make(chan int)
	go func() {
		defer close(idx)
		for i := 1; i <= s.Mailboxes; i++ {
			select {
			case idx <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for w := 0; w < max(4, 2*runtime.NumCPU()); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range idx {
				mu.Lock()
				failed := firstErr != nil
				mu.Unlock()
				if failed {
					continue
				}
				if err := writeMailbox(dir, i, s.MessagesPerBox, host); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

func writeMailbox(partition string, i, messages int, host string) error {
	uid := UserID(i)
	mbox := filepath.Join(partition, MailboxDir(uid))
	if err := os.MkdirAll(filepath.Join(mbox, "00"), 0o700); err != nil {
		return fmt.Errorf("create mailbox %s: %w", uid, err)
	}
	var idx strings.Builder
	fmt.Fprintf(&idx, "IMS store.idx v2\nmailbox: user/%s/INBOX\nuidvalidity: %d\nmessages: %d\n", uid, 1000000000+i, messages)
	for m := 1; m <= messages; m++ {
		msg := fmt.Sprintf("Return-path: <sender%d@example.com>\nReceived: from tcp_local by %s (iPlanet Messaging Server 5.1) id <%d.%d@%s>\n"+
			"Date: Mon, 07 Jan 2002 10:%02d:00 +0000\nFrom: sender%d@example.com\nTo: %s@%s\nSubject: stored message %d\n"+
			"Message-id: <%d.%d@%s>\nMIME-version: 1.0\nContent-type: text/plain; charset=us-ascii\n\nHello %s, this is message %d.\n",
			m, host, i, m, host, m%60, m, uid, DefDomain, m, i, m, host, uid, m)
		if err := os.WriteFile(filepath.Join(mbox, "00", strconv.Itoa(m)+".msg"), []byte(msg), 0o600); err != nil {
			return fmt.Errorf("write message %d of mailbox %s: %w", m, uid, err)
		}
		fmt.Fprintf(&idx, "%d %d 00/%d.msg\n", m, len(msg), m)
	}
	if err := os.WriteFile(filepath.Join(mbox, "store.idx"), []byte(idx.String()), 0o600); err != nil {
		return fmt.Errorf("write store.idx of mailbox %s: %w", uid, err)
	}
	return nil
}

func run(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// mountStore makes the ext4 image, attaches it to a loop device (no
// autoclear, so an umount keeps the device), formats it and mounts it on
// the store partition. State.LoopDevice and StoreImage are recorded as
// soon as they exist so the teardown can undo a half-done mount.
func mountStore(ctx context.Context, st *sim.State, s sim.StoreSpec) error {
	dir := st.Paths().Store()
	img := StoreImagePath(st.Scenario.Root)
	f, err := os.OpenFile(img, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("create store image: %w", err)
	}
	err = f.Truncate(int64(s.ImageMB) << 20)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	st.StoreImage = img
	fail := func(err error) error {
		if terr := teardownStore(context.WithoutCancel(ctx), st, nil); terr != nil {
			err = errors.Join(err, terr)
		}
		return err
	}
	if err != nil {
		return fail(fmt.Errorf("size store image: %w", err))
	}
	dev, err := run(ctx, "losetup", "-f", "--show", img)
	if err != nil {
		return fail(fmt.Errorf("attach store image: %w", err))
	}
	st.LoopDevice = dev
	// Enough inodes for every mailbox file and directory, with room.
	_, files := ExpectedStore(s)
	inodes := max(16384, 2*(files+2*s.Mailboxes)+70000)
	if _, err := run(ctx, "mkfs.ext4", "-q", "-F", "-N", strconv.Itoa(inodes), dev); err != nil {
		return fail(fmt.Errorf("format store image: %w", err))
	}
	if _, err := run(ctx, "mount", "-t", "ext4", dev, dir); err != nil {
		return fail(fmt.Errorf("mount store: %w", err))
	}
	return nil
}

// MountPoints returns the mount points whose source is dev, from
// /proc/self/mountinfo, deepest first.
func MountPoints(dev string) ([]string, error) {
	entries, err := mountinfo.Read()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range entries {
		if e.Source == dev {
			out = append([]string{e.MountPoint}, out...)
		}
	}
	return out, nil
}

// loopAttached tells whether dev is attached to img.
func loopAttached(dev, img string) bool {
	if dev == "" || img == "" {
		return false
	}
	b, err := os.ReadFile(filepath.Join("/sys/block", filepath.Base(dev), "loop", "backing_file"))
	if err != nil {
		return false
	}
	back := strings.TrimSuffix(strings.TrimSpace(string(b)), " (deleted)")
	if back == img {
		return true
	}
	real, err := filepath.EvalSymlinks(img)
	return err == nil && back == real
}

// teardownStore undoes a loop-mounted store: it unmounts every mount of
// the loop device, detaches it and removes the image. A device no longer
// attached to the image (detached by hand, maybe reused since) is left
// alone. It does nothing for an ordinary store.
func teardownStore(ctx context.Context, st *sim.State, log io.Writer) error {
	if st.LoopDevice == "" && st.StoreImage == "" {
		return nil
	}
	var errs []error
	if dev := st.LoopDevice; loopAttached(dev, st.StoreImage) {
		mps, err := MountPoints(dev)
		if err != nil {
			errs = append(errs, err)
		}
		for _, mp := range mps {
			if _, err := run(ctx, "umount", mp); err != nil {
				errs = append(errs, fmt.Errorf("unmount store: %w", err))
			} else if log != nil {
				fmt.Fprintf(log, "store-mount: unmounted %s\n", mp)
			}
		}
		if len(errs) == 0 {
			if _, err := run(ctx, "losetup", "-d", dev); err != nil {
				errs = append(errs, fmt.Errorf("detach store loop device: %w", err))
			} else if log != nil {
				fmt.Fprintf(log, "store-mount: detached %s\n", dev)
			}
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	if img := st.StoreImage; img != "" {
		if err := os.Remove(img); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove store image: %w", err)
		}
	}
	st.LoopDevice, st.StoreImage = "", ""
	return nil
}
