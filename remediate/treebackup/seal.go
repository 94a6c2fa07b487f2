// Seals: proving a verified backup unchanged without reading it again.

package treebackup

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/internal/atomicfile"
)

// SealFormat names a seal file's layout.
const SealFormat = "msguard.backup-seal/v1"

// seal is what VerifyAndSeal writes next to a backup it re-read in full:
// a print of every entry's stat in the backup (inode, size, mode, links,
// owner, modification and change times) and of the manifest's, taken as
// the re-read went. Anything that writes, truncates, replaces, renames,
// chmods or touches a file of the backup changes its change time (ctime),
// which no program can set back; so a later stat of every entry that
// gives the same print proves the backup is still what was re-read.
type seal struct {
	Format   string    `json:"seal"`
	Name     string    `json:"name"`
	Entries  int64     `json:"entries"`
	Print    string    `json:"stat_sha256"`
	Manifest string    `json:"manifest_stat_sha256"`
	Sealed   time.Time `json:"sealed"`
}

// SealPath is the seal file of backup name in dst.
func SealPath(dst, name string) string { return filepath.Join(dst, name+".seal") }

// VerifyAndSeal is Verify, and when the backup passes it records a seal
// (SealPath) that lets Reverify prove the backup unchanged by a stat of
// each entry instead of a second read of every byte. A backup that fails
// loses any earlier seal.
func VerifyAndSeal(ctx context.Context, dst, name string) error {
	sealFile := SealPath(dst, name)
	if err := os.Remove(sealFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the old seal of backup %s: %w", name, err)
	}
	before, err := manifestPrint(dst, name)
	if err != nil {
		return Verify(ctx, dst, name) // it names the missing manifest
	}
	var stats statPrint
	if err := verifyBackup(ctx, dst, name, nil, readBack, &stats); err != nil {
		return err
	}
	after, err := manifestPrint(dst, name)
	if err != nil || after != before {
		return fmt.Errorf("verify backup %s: its manifest changed while it was re-read", name)
	}
	// A change is seen by its new change time, which the kernel takes
	// from a coarse clock (a tick of up to 10 ms): the seal is written
	// once that clock has passed every change time in the print, so that
	// no later write can leave a file with the change time it has now.
	if d := time.Until(time.Unix(0, stats.maxCtime).Add(ctimeTick)); d > 0 {
		time.Sleep(d)
	}
	s := seal{Format: SealFormat, Name: name, Entries: stats.n, Print: stats.hex(), Manifest: before, Sealed: time.Now().UTC()}
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := atomicfile.Write(sealFile, append(b, '\n'), 0o600); err != nil {
		return fmt.Errorf("seal backup %s: %w", name, err)
	}
	return nil
}

// Reverified says how Reverify proved a backup.
type Reverified struct {
	// Sealed: every entry's stat equals the seal's, so no byte was read
	// again. Otherwise the backup was re-read in full (Why says why).
	Sealed  bool
	Entries int64
	Since   time.Time // when the sealed re-read was
	Why     string
}

// String is one line for the log.
func (r Reverified) String() string {
	if r.Sealed {
		return fmt.Sprintf("unchanged since its re-read of %s: the stat of its %d entries equals the seal's", r.Since.Local().Format(time.TimeOnly), r.Entries)
	}
	return "re-read in full: " + r.Why
}

// Reverify proves again that backup name in dst holds what its manifest
// says. When VerifyAndSeal sealed it and a stat of every entry (and of the
// manifest) still gives the seal's print, that is the proof: nothing has
// written to the backup since it was re-read. Otherwise (no seal, or
// anything changed, even a touch) it is Verify: every byte is read again
// and the backup passes or fails on its content.
func Reverify(ctx context.Context, dst, name string) (Reverified, error) {
	why, s := sealStillHolds(ctx, dst, name)
	if why == "" {
		return Reverified{Sealed: true, Entries: s.Entries, Since: s.Sealed}, nil
	}
	return Reverified{Why: why}, Verify(ctx, dst, name)
}

// sealStillHolds returns "" and the seal when the backup's stat print
// equals its seal's, or why not.
func sealStillHolds(ctx context.Context, dst, name string) (string, seal) {
	var s seal
	b, err := os.ReadFile(SealPath(dst, name))
	if errors.Is(err, fs.ErrNotExist) {
		return "the backup has no seal", s
	}
	if err != nil {
		return fmt.Sprintf("the seal is unreadable (%v)", err), s
	}
	if json.Unmarshal(b, &s) != nil || s.Format != SealFormat || s.Name != name {
		return "the seal is not a " + SealFormat + " seal of " + name, s
	}
	if mp, err := manifestPrint(dst, name); err != nil || mp != s.Manifest {
		return "its manifest changed since the seal", s
	}
	var stats statPrint
	if err := verifyBackup(ctx, dst, name, nil, statOnly, &stats); err != nil {
		return "an entry is missing or changed size since the seal", s
	}
	if stats.n != s.Entries || stats.hex() != s.Print {
		return "an entry changed since the seal (its stat differs)", s
	}
	return "", s
}

// ctimeTick bounds the granularity of a file's change time: the kernel's
// coarse clock ticks every 1 to 10 ms (CONFIG_HZ 1000 to 100).
const ctimeTick = 20 * time.Millisecond

// manifestPrint is the stat print of backup name's manifest.
func manifestPrint(dst, name string) (string, error) {
	var st unix.Stat_t
	if err := unix.Lstat(ManifestPath(dst, name), &st); err != nil {
		return "", err
	}
	var acc statAcc
	acc.add("", &st)
	var p statPrint
	p.merge(&acc)
	return p.hex(), nil
}

// statAcc accumulates the stat prints of entries, in any order: the
// SHA-256 of each entry's path and stat, added up bytewise (XOR), so that
// workers can each take a share.
type statAcc struct {
	sum      [sha256.Size]byte
	n        int64
	maxCtime int64 // ns since the epoch
	buf      []byte
}

// add puts the entry at rel with stat st into the print.
func (a *statAcc) add(rel string, st *unix.Stat_t) {
	b := append(a.buf[:0], rel...)
	b = append(b, 0)
	for _, v := range [...]uint64{
		uint64(st.Dev), uint64(st.Ino), uint64(st.Size), uint64(st.Mode), uint64(st.Nlink), uint64(st.Uid), uint64(st.Gid),
		uint64(st.Mtim.Sec), uint64(st.Mtim.Nsec), uint64(st.Ctim.Sec), uint64(st.Ctim.Nsec),
	} {
		b = binary.LittleEndian.AppendUint64(b, v)
	}
	a.buf = b
	a.maxCtime = max(a.maxCtime, int64(st.Ctim.Sec)*1e9+int64(st.Ctim.Nsec))
	h := sha256.Sum256(b)
	for i := range h {
		a.sum[i] ^= h[i]
	}
	a.n++
}

// statPrint is the stat print of a whole backup, merged from the workers'.
type statPrint struct {
	mu       sync.Mutex
	sum      [sha256.Size]byte
	n        int64
	maxCtime int64
}

func (p *statPrint) merge(a *statAcc) {
	p.mu.Lock()
	for i := range a.sum {
		p.sum[i] ^= a.sum[i]
	}
	p.n += a.n
	p.maxCtime = max(p.maxCtime, a.maxCtime)
	p.mu.Unlock()
}

func (p *statPrint) hex() string { return hex.EncodeToString(p.sum[:]) }

// statFileAt is hashFileAt without the read: the size of regular file
// name in directory dirfd, its stat left in w.st.
func (w *fileWorker) statFileAt(dirfd int, name string) (int64, error) {
	for {
		err := unix.Fstatat(dirfd, name, &w.st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if w.st.Mode&unix.S_IFMT != unix.S_IFREG {
			return 0, errors.New("not a regular file")
		}
		return w.st.Size, nil
	}
}
