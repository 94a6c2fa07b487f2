package tree

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/sim"
)

// DeletedFlag is the IMAP system flag that marks a message for expunge.
const DeletedFlag = `\Deleted`

// StoredMessage is one message of a mailbox as its store.idx lists it.
type StoredMessage struct {
	UID   uint32
	Size  int64
	Path  string   // relative to the mailbox directory, e.g. 00/4.msg
	Flags []string // IMAP flags (\Seen, \Deleted, ...)
}

// Deleted tells whether the message carries \Deleted.
func (m StoredMessage) Deleted() bool { return slices.Contains(m.Flags, DeletedFlag) }

// MailboxIndex is a parsed store.idx: a header of "key: value" lines
// (IMS store.idx v2, mailbox, uidvalidity, messages, uidnext) and one line
// "<uid> <size> <path> [flag...]" per message, in UID order.
type MailboxIndex struct {
	Name        string // user/<uid>/INBOX
	UIDValidity uint32
	// UIDNext is the UID the next message gets; a store.idx written at
	// create time has none, and it is then one past the highest UID.
	UIDNext  uint32
	Messages []StoredMessage
}

// Mailbox is the INBOX of one user in the store partition: the =<uid>
// directory of layout.md with its store.idx and 00/<n>.msg files. Readers
// take a shared lock and writers an exclusive one (flock on the mailbox
// directory itself, so the store holds no file beyond the mailbox's own):
// imapd, popd and the job controller are separate processes.
type Mailbox struct {
	UID string
	Dir string
}

// OpenMailbox returns the mailbox of uid in the store partition.
func OpenMailbox(partition, uid string) Mailbox {
	return Mailbox{UID: uid, Dir: filepath.Join(partition, MailboxDir(uid))}
}

// StoreMailbox returns the mailbox of uid in the store of p.
func StoreMailbox(p sim.Paths, uid string) Mailbox { return OpenMailbox(p.Store(), uid) }

func (m Mailbox) idxPath() string { return filepath.Join(m.Dir, "store.idx") }

// lock takes a flock on the mailbox directory; a missing directory is
// created first when create.
func (m Mailbox) lock(how int, create bool) (unlock func(), err error) {
	if create {
		if err := os.MkdirAll(filepath.Join(m.Dir, "00"), 0o700); err != nil {
			return nil, fmt.Errorf("create mailbox %s: %w", m.UID, err)
		}
	}
	fd, err := unix.Open(m.Dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open mailbox", Path: m.Dir, Err: err}
	}
	for {
		err = unix.Flock(fd, how)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock mailbox %s: %w", m.UID, err)
	}
	return func() { unix.Flock(fd, unix.LOCK_UN); unix.Close(fd) }, nil
}

// Read returns the mailbox's index; a mailbox that does not exist yet
// (nothing delivered to it) reads as empty.
func (m Mailbox) Read() (*MailboxIndex, error) {
	unlock, err := m.lock(unix.LOCK_SH, false)
	if errors.Is(err, fs.ErrNotExist) {
		return m.emptyIndex(), nil
	}
	if err != nil {
		return nil, err
	}
	defer unlock()
	return m.readIndex()
}

// Body returns the content of msg.
func (m Mailbox) Body(msg StoredMessage) ([]byte, error) {
	b, err := os.ReadFile(filepath.Join(m.Dir, filepath.FromSlash(msg.Path)))
	if err != nil {
		return nil, fmt.Errorf("read message %d of mailbox %s: %w", msg.UID, m.UID, err)
	}
	return b, nil
}

// Update runs fn on the index under the exclusive lock and writes the
// index back when fn succeeds.
func (m Mailbox) Update(fn func(ix *MailboxIndex) error) error {
	unlock, err := m.lock(unix.LOCK_EX, true)
	if err != nil {
		return err
	}
	defer unlock()
	ix, err := m.readIndex()
	if err != nil {
		return err
	}
	if err := fn(ix); err != nil {
		return err
	}
	return m.writeIndex(ix)
}

// Append stores msg as a new message with flags and returns its UID.
func (m Mailbox) Append(msg []byte, flags []string) (uint32, error) {
	var uid uint32
	err := m.Update(func(ix *MailboxIndex) error {
		uid = ix.UIDNext
		rel := "00/" + strconv.FormatUint(uint64(uid), 10) + ".msg"
		if err := sim.WriteFileAtomic(filepath.Join(m.Dir, filepath.FromSlash(rel)), msg, 0o600); err != nil {
			return fmt.Errorf("write message %d of mailbox %s: %w", uid, m.UID, err)
		}
		ix.Messages = append(ix.Messages, StoredMessage{UID: uid, Size: int64(len(msg)), Path: rel, Flags: slices.Clone(flags)})
		ix.UIDNext = uid + 1
		return nil
	})
	return uid, err
}

// Expunge removes the messages flagged \Deleted (their files and index
// lines) and returns their UIDs.
func (m Mailbox) Expunge() ([]uint32, error) {
	var gone []uint32
	err := m.Update(func(ix *MailboxIndex) error {
		kept := ix.Messages[:0]
		for _, msg := range ix.Messages {
			if !msg.Deleted() {
				kept = append(kept, msg)
				continue
			}
			err := os.Remove(filepath.Join(m.Dir, filepath.FromSlash(msg.Path)))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("expunge message %d of mailbox %s: %w", msg.UID, m.UID, err)
			}
			gone = append(gone, msg.UID)
		}
		ix.Messages = kept
		return nil
	})
	return gone, err
}

func (m Mailbox) emptyIndex() *MailboxIndex {
	h := fnv.New32a()
	h.Write([]byte(m.UID))
	return &MailboxIndex{Name: "user/" + m.UID + "/INBOX", UIDValidity: 1000000000 + h.Sum32()%1000000000, UIDNext: 1}
}

// readIndex parses store.idx; a missing one is an empty mailbox.
func (m Mailbox) readIndex() (*MailboxIndex, error) {
	ix := m.emptyIndex()
	b, err := os.ReadFile(m.idxPath())
	if errors.Is(err, fs.ErrNotExist) {
		return ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read store.idx of mailbox %s: %w", m.UID, err)
	}
	ix.UIDNext = 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "IMS store.idx") {
			continue
		}
		if key, val, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(key, " 0123456789") {
			val = strings.TrimSpace(val)
			switch key {
			case "mailbox":
				ix.Name = val
			case "uidvalidity", "uidnext":
				v, err := strconv.ParseUint(val, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("store.idx of mailbox %s line %d: %s %q: %w", m.UID, n, key, val, err)
				}
				if key == "uidnext" {
					ix.UIDNext = uint32(v)
				} else {
					ix.UIDValidity = uint32(v)
				}
			}
			continue
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			return nil, fmt.Errorf("store.idx of mailbox %s line %d: want \"<uid> <size> <path>\", got %q", m.UID, n, line)
		}
		uid, err1 := strconv.ParseUint(f[0], 10, 32)
		size, err2 := strconv.ParseInt(f[1], 10, 64)
		if err := errors.Join(err1, err2); err != nil {
			return nil, fmt.Errorf("store.idx of mailbox %s line %d: %w", m.UID, n, err)
		}
		ix.Messages = append(ix.Messages, StoredMessage{UID: uint32(uid), Size: size, Path: f[2], Flags: f[3:]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read store.idx of mailbox %s: %w", m.UID, err)
	}
	for _, msg := range ix.Messages {
		ix.UIDNext = max(ix.UIDNext, msg.UID+1)
	}
	ix.UIDNext = max(ix.UIDNext, 1)
	return ix, nil
}

// writeIndex writes store.idx atomically, in the format writeMailbox uses
// plus a uidnext line (so a UID is never given twice after an expunge) and
// each message's flags.
func (m Mailbox) writeIndex(ix *MailboxIndex) error {
	var b strings.Builder
	fmt.Fprintf(&b, "IMS store.idx v2\nmailbox: %s\nuidvalidity: %d\nmessages: %d\nuidnext: %d\n", ix.Name, ix.UIDValidity, len(ix.Messages), ix.UIDNext)
	for _, msg := range ix.Messages {
		fmt.Fprintf(&b, "%d %d %s", msg.UID, msg.Size, msg.Path)
		for _, f := range msg.Flags {
			b.WriteString(" " + f)
		}
		b.WriteString("\n")
	}
	if err := sim.WriteFileAtomic(m.idxPath(), []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write store.idx of mailbox %s: %w", m.UID, err)
	}
	return nil
}
