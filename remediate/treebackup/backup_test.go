package treebackup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/internal/exitcode"
)

// backupTestStore is the store directory of the test tree: excluded from
// the backup and kept by restores, like INST/store/partition/primary.
const backupTestStore = "msg-budgie/store/partition/primary"

// backupTestTime is the base mtime of the test tree (nanoseconds on
// purpose: a restore must give them back exactly).
var backupTestTime = time.Date(2002, 9, 16, 10, 31, 10, 370000123, time.UTC)

// backupTestNode is one path of a test tree.
type backupTestNode struct {
	path     string // relative, slash-separated
	typ      string // EntryFile, EntryDir, EntrySymlink, or "hardlink"
	mode     os.FileMode
	uid, gid int
	content  string // files; symlink and hard link targets
}

// backupTestNodes is a small server root with every kind of entry msguard
// must back up and restore exactly.
var backupTestNodes = []backupTestNode{
	{path: "setup", typ: EntryDir, mode: 0o755},
	{path: "setup/install.inf", typ: EntryFile, mode: 0o600, content: "[General]\nFullMachineName= mail.siroe.com\n"},
	{path: "bin/msg/lib", typ: EntryDir, mode: 0o755},
	{path: "bin/msg/lib/stored", typ: EntryFile, mode: 0o755, content: "#!/bin/sh\necho stored\n"},
	{path: "bin/msg/lib/setuidhelper", typ: EntryFile, mode: os.ModeSetuid | 0o755, content: "setuid helper"},
	{path: "bin/msg/lib/setgidhelper", typ: EntryFile, mode: os.ModeSetgid | 0o750, gid: 1234, content: "setgid helper"},
	{path: "msg-budgie", typ: EntryDir, mode: 0o750, uid: 1234, gid: 1234},
	{path: "msg-budgie/config", typ: EntryDir, mode: 0o700, uid: 1234, gid: 1234},
	{path: "msg-budgie/config/msg.conf", typ: EntryFile, mode: 0o600, uid: 1234, gid: 1234, content: "local.hostname = \"mail.siroe.com\"\n"},
	{path: "msg-budgie/config/msg.conf.hardlink", typ: "hardlink", content: "msg-budgie/config/msg.conf"},
	{path: "msg-budgie/config/current", typ: EntrySymlink, uid: 1234, content: "msg.conf"},
	{path: "msg-budgie/config/dangling", typ: EntrySymlink, content: "/nonexistent/target"},
	{path: "msg-budgie/imta/queue/tcp_local", typ: EntryDir, mode: 0o700, uid: 1234},
	{path: "msg-budgie/imta/queue/empty", typ: EntryDir, mode: os.ModeSticky | 0o777},
	{path: "msg-budgie/store/partition/primary/=user/00/00/=user0001", typ: EntryDir, mode: 0o700, uid: 1234},
	{path: "msg-budgie/store/partition/primary/=user/00/00/=user0001/1.", typ: EntryFile, mode: 0o600, uid: 1234, content: "mail in the store"},
	{path: "empty", typ: EntryDir, mode: 0o750},
	{path: "big.bin", typ: EntryFile, mode: 0o644, content: strings.Repeat("0123456789abcdef", 40000)},
	{path: "zero", typ: EntryFile, mode: 0o444},
	{path: "caf\xe9 latin1.txt", typ: EntryFile, mode: 0o640, content: "a Latin-1 file name"},
}

// backupTestTree builds the test tree under root and sets every mtime,
// directories last (deepest first) so their contents do not touch them.
func backupTestTree(t testing.TB, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(root, 0o755))
	for _, n := range backupTestNodes {
		p := filepath.Join(root, filepath.FromSlash(n.path))
		must(os.MkdirAll(filepath.Dir(p), 0o755))
		switch n.typ {
		case EntryDir:
			must(os.MkdirAll(p, 0o755))
		case EntryFile:
			must(os.WriteFile(p, []byte(n.content), 0o600))
		case EntrySymlink:
			must(os.Symlink(n.content, p))
		case "hardlink":
			must(os.Link(filepath.Join(root, filepath.FromSlash(n.content)), p))
			continue
		}
		must(os.Lchown(p, n.uid, n.gid))
		if n.typ != EntrySymlink {
			must(os.Chmod(p, n.mode))
		}
	}
	backupTestTimes(t, root)
}

// backupTestTimes gives every path of root a distinct mtime, children
// before their directory.
func backupTestTimes(t testing.TB, root string) {
	t.Helper()
	var paths []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
		return nil
	})
	slices.Reverse(paths) // children before parents
	for i, p := range paths {
		mt := backupTestTime.Add(time.Duration(i) * time.Hour)
		ts := []unix.Timespec{unix.NsecToTimespec(mt.UnixNano()), unix.NsecToTimespec(mt.UnixNano())}
		if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			t.Fatal(err)
		}
	}
}

// treeDigest describes every path of root (type, mode, owner, mtime,
// size, content hash, symlink target, hard-link group) in one string, to
// prove a tree unchanged or restored.
func treeDigest(t testing.TB, root string) string {
	t.Helper()
	var b strings.Builder
	inodes := map[uint64]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(&b, "%q %v %d:%d %d", rel, fi.Mode(), st.Uid, st.Gid, fi.ModTime().UnixNano())
		switch {
		case fi.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, " %d %x", len(data), sha256.Sum256(data))
			if st.Nlink > 1 {
				if first, ok := inodes[st.Ino]; ok {
					fmt.Fprintf(&b, " link=%q", first)
				} else {
					inodes[st.Ino] = rel
				}
			}
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			fmt.Fprintf(&b, " -> %q", target)
		}
		b.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// requireRoot skips tests that chown or mount.
func requireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (chown, setuid files, mounts)")
	}
}

func TestBackupVerifyRestoreRoundTrip(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dir := t.TempDir()
	root, dst := filepath.Join(dir, "server5"), filepath.Join(dir, "backups", "run1")
	backupTestTree(t, root)
	orig := treeDigest(t, root)

	st, err := Backup(ctx, root, dst, "server-root", []string{backupTestStore})
	if err != nil {
		t.Fatalf("Backup: %v", err)
	}
	want := Stats{Files: 9, Dirs: 14, Symlinks: 2, Bytes: 0}
	for _, n := range backupTestNodes {
		if n.typ == EntryFile && !strings.HasPrefix(n.path, backupTestStore) {
			want.Bytes += int64(len(n.content))
		}
	}
	if st != want {
		t.Errorf("Backup stats = %+v; want %+v", st, want)
	}
	if got := treeDigest(t, root); got != orig {
		t.Errorf("backup changed the source:\n%s\nwant\n%s", got, orig)
	}
	if err := Verify(ctx, dst, "server-root"); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	backupTestPerms(t, dst, "server-root")
	h, err := ReadManifest(dst, "server-root", nil)
	if err != nil || h.Root != root || h.HardLinks != 1 || !slices.Equal(h.Exclude, []string{backupTestStore}) {
		t.Errorf("ReadManifest header = %+v, %v", h, err)
	}
	keep := []string{backupTestStore}
	if diffs, err := Compare(ctx, dst, "server-root", root, keep); err != nil || len(diffs) != 0 {
		t.Fatalf("Compare right after the backup = %q, %v; want none", diffs, err)
	}
	if err := Restore(ctx, dst, "server-root", root, keep); err != nil {
		t.Fatalf("Restore of an unchanged tree: %v", err)
	}
	if got := treeDigest(t, root); got != orig {
		t.Fatalf("restore of an unchanged tree changed it:\n%s\nwant\n%s", got, orig)
	}
}

// backupTestPerms checks that the backup exposes nothing: directories
// 0700, files and the manifest 0600, whatever the originals were.
func backupTestPerms(t *testing.T, dst, name string) {
	t.Helper()
	for _, p := range []string{dst, DataDir(dst, name)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("backup directory %s mode = %v, %v; want 0700", p, fi.Mode(), err)
		}
	}
	if fi, err := os.Stat(ManifestPath(dst, name)); err != nil || fi.Mode() != 0o600 {
		t.Errorf("manifest mode = %v, %v; want 0600", fi.Mode(), err)
	}
	filepath.WalkDir(DataDir(dst, name), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := d.Info()
		switch {
		case d.IsDir() && fi.Mode() != fs.ModeDir|0o700:
			t.Errorf("backup directory %s mode = %v; want drwx------", p, fi.Mode())
		case d.Type().IsRegular() && fi.Mode() != 0o600:
			t.Errorf("backup file %s mode = %v; want -rw-------", p, fi.Mode())
		}
		return nil
	})
}

func TestRestoreAfterModifications(t *testing.T) {
	requireRoot(t)
	p := func(root, rel string) string { return filepath.Join(root, filepath.FromSlash(rel)) }
	cases := []struct {
		name   string
		modify func(t *testing.T, root string) error
		diff   string // a difference Compare must report before the restore
	}{
		{"file changed", func(t *testing.T, root string) error {
			return os.WriteFile(p(root, "msg-budgie/config/msg.conf"), []byte("changed by setup\n"), 0o600)
		}, "modified msg-budgie/config/msg.conf: sha256"},
		{"same size content, mtime kept", func(t *testing.T, root string) error {
			f := p(root, "setup/install.inf")
			fi, _ := os.Stat(f)
			data, _ := os.ReadFile(f)
			data[0] = '#'
			if err := os.WriteFile(f, data, 0o600); err != nil {
				return err
			}
			return os.Chtimes(f, fi.ModTime(), fi.ModTime())
		}, "modified setup/install.inf"},
		{"file deleted", func(t *testing.T, root string) error {
			return os.Remove(p(root, "bin/msg/lib/stored"))
		}, "missing bin/msg/lib/stored"},
		{"extra file", func(t *testing.T, root string) error {
			return os.WriteFile(p(root, "bin/msg/lib/newdaemon"), []byte("5.2"), 0o755)
		}, "extra bin/msg/lib/newdaemon"},
		{"extra directory tree", func(t *testing.T, root string) error {
			return os.MkdirAll(p(root, "msg-budgie/backup.20260101120000/config"), 0o755)
		}, "extra msg-budgie/backup.20260101120000"},
		{"mode changed", func(t *testing.T, root string) error {
			return os.Chmod(p(root, "bin/msg/lib/setuidhelper"), 0o755)
		}, "mode bin/msg/lib/setuidhelper: 4755 in backup, 0755 on disk"},
		{"owner changed", func(t *testing.T, root string) error {
			return os.Lchown(p(root, "msg-budgie/config/msg.conf"), 0, 0)
		}, "owner msg-budgie/config/msg.conf: 1234:1234 in backup, 0:0 on disk"},
		{"mtime changed", func(t *testing.T, root string) error {
			return os.Chtimes(p(root, "big.bin"), time.Now(), time.Now())
		}, "mtime big.bin"},
		{"symlink retargeted", func(t *testing.T, root string) error {
			os.Remove(p(root, "msg-budgie/config/current"))
			return os.Symlink("local.conf", p(root, "msg-budgie/config/current"))
		}, `target msg-budgie/config/current: "msg.conf" in backup, "local.conf" on disk`},
		{"hard link broken", func(t *testing.T, root string) error {
			f := p(root, "msg-budgie/config/msg.conf.hardlink")
			data, _ := os.ReadFile(f)
			os.Remove(f)
			return os.WriteFile(f, data, 0o600)
		}, "link msg-budgie/config/msg.conf"}, // either name may be the first
		{"file replaced by a directory", func(t *testing.T, root string) error {
			os.Remove(p(root, "zero"))
			return os.MkdirAll(p(root, "zero/sub"), 0o755)
		}, "type zero: file in backup, dir on disk"},
		{"directory replaced by a file", func(t *testing.T, root string) error {
			os.RemoveAll(p(root, "msg-budgie/imta/queue"))
			return os.WriteFile(p(root, "msg-budgie/imta/queue"), nil, 0o644)
		}, "type msg-budgie/imta/queue: dir in backup, file on disk"},
		{"empty directory removed", func(t *testing.T, root string) error {
			return os.Remove(p(root, "empty"))
		}, "missing empty"},
		{"root mode changed", func(t *testing.T, root string) error {
			return os.Chmod(root, 0o700)
		}, "mode .: 0755 in backup, 0700 on disk"},
		{"everything deleted but the store", func(t *testing.T, root string) error {
			ents, _ := os.ReadDir(root)
			for _, e := range ents {
				if e.Name() != "msg-budgie" {
					os.RemoveAll(p(root, e.Name()))
				}
			}
			return os.RemoveAll(p(root, "msg-budgie/config"))
		}, "missing setup/install.inf"},
	}
	ctx := context.Background()
	keep := []string{backupTestStore}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root, dst := filepath.Join(dir, "server5"), filepath.Join(dir, "backup")
			backupTestTree(t, root)
			orig := treeDigest(t, root)
			if _, err := Backup(ctx, root, dst, "server-root", keep); err != nil {
				t.Fatal(err)
			}
			if err := tc.modify(t, root); err != nil {
				t.Fatal(err)
			}
			// The store changes during the upgrade: restore must keep it.
			newMail := p(root, backupTestStore+"/=user/00/00/=user0001/2.")
			if err := os.WriteFile(newMail, []byte("new mail"), 0o600); err != nil {
				t.Fatal(err)
			}
			diffs, err := Compare(ctx, dst, "server-root", root, keep)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(diffs, func(d string) bool { return strings.HasPrefix(d, tc.diff) }) {
				t.Errorf("Compare = %q; want a line starting %q", diffs, tc.diff)
			}
			if err := Restore(ctx, dst, "server-root", root, keep); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if diffs, err := Compare(ctx, dst, "server-root", root, keep); err != nil || len(diffs) != 0 {
				t.Errorf("Compare after restore = %q, %v; want none", diffs, err)
			}
			if _, err := os.Stat(newMail); err != nil {
				t.Errorf("restore removed the kept store's new mail: %v", err)
			}
			os.Remove(newMail)
			if err := os.Chtimes(filepath.Dir(newMail), backupTestTime, backupTestTime); err != nil {
				t.Fatal(err)
			}
			got := treeDigest(t, root)
			// Only the kept mailbox directory's mtime (touched above) may differ.
			if keepLine := "=user0001\""; backupTestDropLines(got, keepLine) != backupTestDropLines(orig, keepLine) {
				t.Errorf("restored tree differs from the original:\n%s\nwant\n%s", got, orig)
			}
		})
	}
}

// backupTestDropLines removes the digest lines containing s.
func backupTestDropLines(digest, s string) string {
	lines := strings.Split(digest, "\n")
	return strings.Join(slices.DeleteFunc(lines, func(l string) bool { return strings.Contains(l, s) }), "\n")
}

func TestVerifyAndRestoreRefuseCorruptBackup(t *testing.T) {
	requireRoot(t)
	data := func(dst, rel string) string {
		return filepath.Join(DataDir(dst, "server-root"), filepath.FromSlash(rel))
	}
	editManifest := func(dst string, edit func([]string) []string) error {
		m := ManifestPath(dst, "server-root")
		b, err := os.ReadFile(m)
		if err != nil {
			return err
		}
		lines := edit(strings.SplitAfter(string(b), "\n"))
		return os.WriteFile(m, []byte(strings.Join(lines, "")), 0o600)
	}
	cases := []struct {
		name    string
		corrupt func(dst string) error
		problem string
	}{
		{"flipped byte", func(dst string) error {
			f := data(dst, "big.bin")
			b, err := os.ReadFile(f)
			if err != nil {
				return err
			}
			b[len(b)/2] ^= 0x01
			return os.WriteFile(f, b, 0o600)
		}, "sha256 of big.bin"},
		{"truncated file", func(dst string) error {
			return os.Truncate(data(dst, "setup/install.inf"), 3)
		}, "size of setup/install.inf: 3 bytes"},
		{"deleted file", func(dst string) error {
			return os.Remove(data(dst, "bin/msg/lib/stored"))
		}, "missing file bin/msg/lib/stored"},
		{"deleted directory", func(dst string) error {
			return os.RemoveAll(data(dst, "empty"))
		}, "missing directory empty"},
		{"manifest without trailer", func(dst string) error {
			return editManifest(dst, func(l []string) []string { return l[:len(l)-2] })
		}, "no trailer"},
		{"manifest cut mid-entries", func(dst string) error {
			return editManifest(dst, func(l []string) []string { return l[:len(l)/2] })
		}, "no trailer"},
		{"manifest cut mid-line", func(dst string) error {
			m := ManifestPath(dst, "server-root")
			fi, err := os.Stat(m)
			if err != nil {
				return err
			}
			return os.Truncate(m, fi.Size()-10)
		}, "bad"},
		{"manifest entry edited", func(dst string) error {
			return editManifest(dst, func(l []string) []string {
				for i, s := range l {
					if strings.Contains(s, `"path":"bin/msg/lib/setuidhelper"`) {
						l[i] = strings.Replace(s, `"uid":0`, `"uid":1234`, 1)
					}
				}
				return l
			})
		}, "do not match the trailer checksum"},
		{"manifest entry removed", func(dst string) error {
			return editManifest(dst, func(l []string) []string { return slices.Delete(l, 3, 4) })
		}, "do not match the trailer checksum"},
		{"manifest escapes the root", func(dst string) error {
			return editManifest(dst, func(l []string) []string {
				for i, s := range l {
					l[i] = strings.Replace(s, `"path":"setup/install.inf"`, `"path":"../install.inf"`, 1)
				}
				return l
			})
		}, "bad relative path"},
		{"manifest missing", func(dst string) error {
			return os.Remove(ManifestPath(dst, "server-root"))
		}, "is missing"},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root, dst := filepath.Join(dir, "server5"), filepath.Join(dir, "backup")
			backupTestTree(t, root)
			if _, err := Backup(ctx, root, dst, "server-root", nil); err != nil {
				t.Fatal(err)
			}
			// Something a restore would change, to see that it does not.
			if err := os.WriteFile(filepath.Join(root, "extra"), []byte("x"), 0o600); err != nil {
				t.Fatal(err)
			}
			before := treeDigest(t, root)
			if err := tc.corrupt(dst); err != nil {
				t.Fatal(err)
			}
			err := Verify(ctx, dst, "server-root")
			var ce *CorruptBackupError
			if !errors.As(err, &ce) {
				t.Fatalf("Verify = %v; want a *CorruptBackupError", err)
			}
			if !slices.ContainsFunc(ce.Problems, func(p string) bool { return strings.Contains(p, tc.problem) }) {
				t.Errorf("Verify problems = %q; want one containing %q", ce.Problems, tc.problem)
			}
			err = Restore(ctx, dst, "server-root", root, nil)
			if !errors.As(err, &ce) {
				t.Errorf("Restore = %v; want a *CorruptBackupError", err)
			}
			if got := treeDigest(t, root); got != before {
				t.Errorf("Restore of a corrupt backup changed the root:\n%s\nwant\n%s", got, before)
			}
		})
	}
}

func TestCorruptBackupErrorListsAtMost20(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dir := t.TempDir()
	root, dst := filepath.Join(dir, "src"), filepath.Join(dir, "backup")
	for i := range 30 {
		backupTestWrite(t, filepath.Join(root, fmt.Sprintf("f%02d", i)), "content")
	}
	if _, err := Backup(ctx, root, dst, "t", nil); err != nil {
		t.Fatal(err)
	}
	for i := range 30 {
		os.WriteFile(filepath.Join(DataDir(dst, "t"), fmt.Sprintf("f%02d", i)), []byte("CONTENT"), 0o600)
	}
	var ce *CorruptBackupError
	if err := Verify(ctx, dst, "t"); !errors.As(err, &ce) || len(ce.Problems) != 20 || ce.Total != 30 {
		t.Fatalf("Verify = %v; want 20 problems listed of 30", err)
	}
	if !strings.Contains(ce.Error(), "and 10 more problems") {
		t.Errorf("error %q does not say how many more problems there are", ce.Error())
	}
}

func backupTestWrite(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestBackupRefuses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	backupTestWrite(t, filepath.Join(src, "a"), "a")
	if _, err := Backup(ctx, src, filepath.Join(dir, "b"), "x", nil); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, src, dst, backup string
		exclude                []string
		want                   string
	}{
		{"existing backup", src, filepath.Join(dir, "b"), "x", nil, "backup x already exists"},
		{"destination inside the source", src, filepath.Join(src, "backup"), "x", nil, "is inside it"},
		{"bad name", src, filepath.Join(dir, "c"), "a/b", nil, "bad backup name"},
		{"exclude outside", src, filepath.Join(dir, "d"), "x", []string{"../etc"}, "must be relative"},
		{"exclude absolute", src, filepath.Join(dir, "e"), "x", []string{"/etc"}, "must be relative"},
		{"source missing", filepath.Join(dir, "nope"), filepath.Join(dir, "f"), "x", nil, "no such file"},
		{"source a file", filepath.Join(src, "a"), filepath.Join(dir, "g"), "x", nil, "not a directory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Backup(ctx, tc.src, tc.dst, tc.backup, tc.exclude)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Backup = %v; want an error containing %q", err, tc.want)
			}
		})
	}
	t.Run("destination inside the source but excluded", func(t *testing.T) {
		if _, err := Backup(ctx, src, filepath.Join(src, "bk", "run"), "x", []string{"bk"}); err != nil {
			t.Errorf("Backup into an excluded directory: %v", err)
		}
	})
	t.Run("fifo", func(t *testing.T) {
		fifo := filepath.Join(dir, "fsrc", "pipe")
		os.MkdirAll(filepath.Dir(fifo), 0o755)
		if err := syscall.Mkfifo(fifo, 0o600); err != nil {
			t.Skip(err)
		}
		if _, err := Backup(ctx, filepath.Dir(fifo), filepath.Join(dir, "fb"), "x", nil); err == nil || !strings.Contains(err.Error(), "unsupported file type") {
			t.Errorf("Backup of a fifo = %v; want unsupported file type", err)
		}
	})
}

// TestBackupDestinationFull fills a 512 KiB tmpfs with a 2 MiB tree.
func TestBackupDestinationFull(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dir := t.TempDir()
	src, mnt := filepath.Join(dir, "src"), filepath.Join(dir, "small")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", mnt, err, out)
		}
	})
	// 2 MiB: small files copied through user space, large ones in the kernel.
	for i, size := range []int{256 << 10, 512 << 10, 256 << 10, 512 << 10, 256 << 10, 256 << 10} {
		backupTestWrite(t, filepath.Join(src, fmt.Sprintf("d%d", i%2), fmt.Sprintf("f%d", i)), strings.Repeat("x", size))
	}
	before := treeDigest(t, src)
	dst := filepath.Join(mnt, "backup")
	_, err := Backup(ctx, src, dst, "server-root", nil)
	if err == nil {
		t.Fatal("Backup into a full file system succeeded")
	}
	t.Logf("error: %v", err)
	if !strings.Contains(err.Error(), "backup destination "+dst+" is full: need about ") {
		t.Errorf("error %q does not say the destination is full and what it needs", err)
	}
	if !strings.Contains(err.Error(), "more bytes (") {
		t.Errorf("error %q does not give the bytes needed", err)
	}
	if code := exitcode.Of(err); code != exitcode.Runtime {
		t.Errorf("exit code = %d; want %d", code, exitcode.Runtime)
	}
	if got := treeDigest(t, src); got != before {
		t.Errorf("source changed by a failed backup")
	}
	var ce *CorruptBackupError
	if err := Verify(ctx, dst, "server-root"); !errors.As(err, &ce) {
		t.Errorf("Verify of the partial backup = %v; want a *CorruptBackupError", err)
	}
	if _, err := os.Stat(DataDir(dst, "server-root")); err != nil {
		t.Errorf("partial backup not left for inspection: %v", err)
	}
}

func TestManifestEntryJSON(t *testing.T) {
	mt := time.Date(2001, 5, 7, 1, 2, 3, 456, time.UTC)
	cases := []struct {
		name string
		e    ManifestEntry
		want string // a substring of the encoding
	}{
		{"file", ManifestEntry{Path: "a/b", Type: EntryFile, Size: 3, Mode: uint32(0o755 | os.ModeSetuid), UID: 1, GID: 2, MTime: mt, SHA256: strings.Repeat("a", 64)}, `"path":"a/b"`},
		{"utf-8 name", ManifestEntry{Path: "café/ü", Type: EntryDir, MTime: mt}, `"path":"café/ü"`},
		{"latin-1 name", ManifestEntry{Path: "caf\xe9", Type: EntryFile, MTime: mt, SHA256: strings.Repeat("b", 64)}, `"path64":"Y2Fm6Q=="`},
		{"newline in name", ManifestEntry{Path: "a\nb", Type: EntryDir, MTime: mt}, `"path":"a\nb"`},
		{"latin-1 symlink target", ManifestEntry{Path: "l", Type: EntrySymlink, MTime: mt, Target: "\xff"}, `"target64":"/w=="`},
		{"hard link", ManifestEntry{Path: "h", Type: EntryFile, MTime: mt, HardLink: "a/b"}, `"hardlink":"a/b"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := tc.e.MarshalJSON()
			if err != nil {
				t.Fatal(err)
			}
			if bytes.ContainsRune(b, '\n') || !strings.Contains(string(b), tc.want) {
				t.Errorf("MarshalJSON = %s; want one line containing %s", b, tc.want)
			}
			var got ManifestEntry
			if err := got.UnmarshalJSON(b); err != nil {
				t.Fatal(err)
			}
			if !got.MTime.Equal(tc.e.MTime) {
				t.Errorf("mtime = %v; want %v", got.MTime, tc.e.MTime)
			}
			got.MTime = tc.e.MTime
			if got != tc.e {
				t.Errorf("round trip = %+v; want %+v", got, tc.e)
			}
		})
	}
}

// TestBackupManyFilesBoundedMemory backs up, verifies and compares 10⁵
// files and checks that the heap does not grow with the file count.
func TestBackupManyFilesBoundedMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("10⁵ files")
	}
	ctx := context.Background()
	dir := t.TempDir()
	root, dst := filepath.Join(dir, "queue"), filepath.Join(dir, "backup")
	const dirs, perDir = 20, 5000
	for d := range dirs {
		sub := filepath.Join(root, "tcp_local", fmt.Sprintf("%03d", d))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		for f := range perDir {
			name := fmt.Sprintf("ZZ%08d-%06d.00", d, f)
			if err := os.WriteFile(filepath.Join(sub, name), []byte(name), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	stop := make(chan struct{})
	peak := make(chan uint64)
	go func() {
		var max uint64
		var ms runtime.MemStats
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				peak <- max
				return
			case <-tick.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > max {
					max = ms.HeapAlloc
				}
			}
		}
	}()
	st, err := Backup(ctx, root, dst, "queue", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(ctx, dst, "queue"); err != nil {
		t.Fatal(err)
	}
	diffs, err := Compare(ctx, dst, "queue", root, nil)
	close(stop)
	max := <-peak
	if err != nil || len(diffs) != 0 {
		t.Fatalf("Compare = %q, %v", diffs, err)
	}
	if st.Files != dirs*perDir {
		t.Errorf("files = %d; want %d", st.Files, dirs*perDir)
	}
	growth := int64(max) - int64(base.HeapAlloc)
	t.Logf("%d files: heap %d MiB before, peak %d MiB (growth %d KiB, %d bytes a file)",
		st.Files, base.HeapAlloc>>20, max>>20, growth>>10, growth/st.Files)
	// Holding the entries would cost a few hundred bytes a file (tens of
	// MiB here); the streaming code needs buffers and 8 bytes a path.
	if limit := int64(24 << 20); growth > limit {
		t.Errorf("heap grew by %d MiB for %d files; want under %d MiB", growth>>20, st.Files, limit>>20)
	}
}

// backupTestHex is hex of the SHA-256 of s.
func backupTestHex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func TestManifestRecordsContent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	root, dst := filepath.Join(dir, "r"), filepath.Join(dir, "b")
	backupTestWrite(t, filepath.Join(root, "a", "msg.conf"), "hello")
	if _, err := Backup(ctx, root, dst, "t", nil); err != nil {
		t.Fatal(err)
	}
	var got []ManifestEntry
	if _, err := ReadManifest(dst, "t", func(e *ManifestEntry) error {
		got = append(got, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Path != "." || got[1].Path != "a" || got[2].Path != "a/msg.conf" {
		t.Fatalf("entries = %+v; want ., a, a/msg.conf in walk order", got)
	}
	if e := got[2]; e.SHA256 != backupTestHex("hello") || e.Size != 5 || os.FileMode(e.Mode) != 0o644 {
		t.Errorf("entry = %+v; want size 5, mode 0644, sha256 of hello", e)
	}
}
