package treebackup

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReverifySeal: a sealed backup that nothing touched is proven by a
// stat of each entry; any change at all (even a chmod to the same mode, or
// content rewritten with its size and mtime set back) makes Reverify read
// every byte again, and a changed content fails as Verify fails.
func TestReverifySeal(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	data := func(dst, rel string) string {
		return filepath.Join(DataDir(dst, "server-root"), filepath.FromSlash(rel))
	}
	const victim = "msg-budgie/config/msg.conf"
	cases := []struct {
		name       string
		change     func(t *testing.T, dst string)
		wantSealed bool
		why        string // in Reverified.Why
		problem    string // in the error; "" = the backup passes
	}{
		{name: "untouched", change: func(*testing.T, string) {}, wantSealed: true},
		{name: "content rewritten, size and mtime set back", change: func(t *testing.T, dst string) {
			p := data(dst, victim)
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := os.ReadFile(p)
			b[0] ^= 0x20
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
				t.Fatal(err)
			}
		}, why: "stat differs", problem: "sha256 of " + victim},
		{name: "chmod to the same mode", change: func(t *testing.T, dst string) {
			if err := os.Chmod(data(dst, victim), 0o600); err != nil {
				t.Fatal(err)
			}
		}, why: "stat differs"},
		{name: "file removed", change: func(t *testing.T, dst string) {
			if err := os.Remove(data(dst, "setup/install.inf")); err != nil {
				t.Fatal(err)
			}
		}, why: "missing or changed size", problem: "missing file setup/install.inf"},
		{name: "file added", change: func(t *testing.T, dst string) {
			backupTestWrite(t, data(dst, "setup/extra"), "x")
		}, why: "stat differs"},
		{name: "seal removed", change: func(t *testing.T, dst string) {
			if err := os.Remove(SealPath(dst, "server-root")); err != nil {
				t.Fatal(err)
			}
		}, why: "no seal"},
		{name: "seal edited", change: func(t *testing.T, dst string) {
			p := SealPath(dst, "server-root")
			b, _ := os.ReadFile(p)
			s := strings.Replace(string(b), `"stat_sha256":"`, `"stat_sha256":"00`, 1)
			if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
				t.Fatal(err)
			}
		}, why: "stat differs"},
		{name: "manifest rewritten unchanged", change: func(t *testing.T, dst string) {
			p := ManifestPath(dst, "server-root")
			b, _ := os.ReadFile(p)
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, why: "manifest changed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			root, dst := filepath.Join(dir, "server5"), filepath.Join(dir, "backups")
			backupTestTree(t, root)
			if _, err := Backup(ctx, root, dst, "server-root", []string{backupTestStore}); err != nil {
				t.Fatal(err)
			}
			if err := VerifyAndSeal(ctx, dst, "server-root"); err != nil {
				t.Fatalf("VerifyAndSeal: %v", err)
			}
			tc.change(t, dst)
			r, err := Reverify(ctx, dst, "server-root")
			if r.Sealed != tc.wantSealed || !strings.Contains(r.Why, tc.why) {
				t.Errorf("Reverify = %+v; want sealed %v, why containing %q", r, tc.wantSealed, tc.why)
			}
			var cb *CorruptBackupError
			switch {
			case tc.problem == "" && err != nil:
				t.Errorf("Reverify: %v; want the backup to pass", err)
			case tc.problem != "" && (!errors.As(err, &cb) || !strings.Contains(err.Error(), tc.problem)):
				t.Errorf("Reverify: %v; want a CorruptBackupError naming %q", err, tc.problem)
			}
			if r.Sealed && (r.Entries != 25 || time.Since(r.Since) > time.Minute) {
				t.Errorf("Reverify = %+v; want the seal's 25 entries and its time", r)
			}
		})
	}
}

// TestVerifyAndSealRefusesCorrupt: a backup that fails its re-read gets no
// seal, and loses the one it had.
func TestVerifyAndSealRefusesCorrupt(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	dir := t.TempDir()
	root, dst := filepath.Join(dir, "server5"), filepath.Join(dir, "backups")
	backupTestTree(t, root)
	if _, err := Backup(ctx, root, dst, "server-root", []string{backupTestStore}); err != nil {
		t.Fatal(err)
	}
	if err := VerifyAndSeal(ctx, dst, "server-root"); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(DataDir(dst, "server-root"), "setup", "install.inf")
	if err := os.WriteFile(p, []byte("[General]\nFullMachineName= mail.siroe.con\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var cb *CorruptBackupError
	if err := VerifyAndSeal(ctx, dst, "server-root"); !errors.As(err, &cb) {
		t.Fatalf("VerifyAndSeal of a corrupt backup: %v; want a CorruptBackupError", err)
	}
	if _, err := os.Stat(SealPath(dst, "server-root")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a corrupt backup kept its seal (%v)", err)
	}
}
