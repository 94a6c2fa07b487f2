package collectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/msguard/msguard/collectors/facts"
)

// StoreUsersLimit is the largest number of mailboxes whose uids are listed
// in Store.Users; above it only the digest is kept.
const StoreUsersLimit = 10_000

// StoreDigestLimit is the largest number of mailboxes whose uids are held
// and sorted for Store.UsersDigest (about 64 MB at 10⁶ uids). Above it the
// digest is left empty and the collector says so in its partial list.
const StoreDigestLimit = 1_000_000

// Mailbox tree levels, as dirTask owners of the store walk.
const (
	storeOutside   = -2 // the partition, outside =user
	storeUserTree  = -1 // =user and its hash directories
	storeInMailbox = 0  // inside a =<uid> mailbox
)

// storeVisitor counts the files below the partition and the mailboxes:
// the =<uid> directories below =user/<hh>/<hh>/.
type storeVisitor struct {
	files, bytes, mailboxes atomic.Int64

	mu       sync.Mutex
	uids     []string
	overflow bool
}

func (v *storeVisitor) dir(t dirTask, name string) (dirTask, bool) {
	sub := dirTask{path: filepath.Join(t.path, name), owner: t.owner, depth: t.depth + 1}
	switch {
	case t.owner == storeOutside && name == "=user":
		sub.owner = storeUserTree
	case t.owner == storeUserTree && strings.HasPrefix(name, "="):
		sub.owner = storeInMailbox
		v.mailboxes.Add(1)
		v.mu.Lock()
		if !v.overflow {
			if len(v.uids) >= StoreDigestLimit {
				v.overflow, v.uids = true, nil
			} else {
				v.uids = append(v.uids, name[1:])
			}
		}
		v.mu.Unlock()
	}
	return sub, true
}

func (v *storeVisitor) file(_ dirTask, fs fileStat) {
	v.files.Add(1)
	v.bytes.Add(fs.size)
}

// collectStore counts the primary partition INST/store/partition/primary.
func collectStore(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	st, partial, err := t.host.ScanStore(ctx, filepath.Join(t.InstDir, "store", "partition", "primary"))
	if err != nil {
		return nil, err
	}
	s.Store = st
	return partial, nil
}

// scanStore reads the partition directory dir. A missing partition is a
// fact (Exists false), not an error.
func scanStore(ctx context.Context, dir string) (*facts.Store, []string, error) {
	st := &facts.Store{Path: dir}
	fi, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		st.UsersDigest = usersDigest(nil)
		return st, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("store partition %s: %w", dir, unwrapPath(err))
	}
	if !fi.IsDir() {
		return nil, nil, fmt.Errorf("store partition %s: not a directory", dir)
	}
	st.Exists = true
	v := &storeVisitor{}
	partial := walkDirs(ctx, []dirTask{{path: dir, owner: storeOutside}}, v)
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("store partition %s: %w", dir, err)
	}
	st.Mailboxes, st.Files, st.Bytes = v.mailboxes.Load(), v.files.Load(), v.bytes.Load()
	if v.overflow {
		partial = append(partial, fmt.Sprintf("more than %d mailboxes: users digest not computed", StoreDigestLimit))
		return st, partial, nil
	}
	sort.Strings(v.uids)
	st.UsersDigest = usersDigest(v.uids)
	if len(v.uids) <= StoreUsersLimit {
		st.Users = v.uids
	}
	return st, partial, nil
}

// usersDigest is the hex SHA-256 of the sorted names, one per line (each
// followed by "\n"), as `sort | sha256sum` computes it.
func usersDigest(sorted []string) string {
	h := sha256.New()
	for _, u := range sorted {
		h.Write([]byte(u))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
