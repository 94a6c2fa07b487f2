package tree

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/msguard/msguard/sim"
)

// StoreChannel is the channel of messages for the local store
// (imta.cnf rewrites the local domain to ims-ms-daemon).
const StoreChannel = "ims-ms"

// StoreDaemonHost is the host part of an active address on StoreChannel:
// <uid>@ims-ms-daemon is uid's INBOX.
const StoreDaemonHost = "ims-ms-daemon"

// Recipient is one envelope recipient of a queue file: the address as
// given (Orig, written "rfc822;<addr>") and the active address it was
// rewritten to (<uid>@ims-ms-daemon for the store).
type Recipient struct {
	Orig, Active string
}

// StoreUID returns the uid of a recipient delivered into the store, or ""
// when its active address is not on StoreChannel.
func (r Recipient) StoreUID() string {
	uid, host, ok := strings.Cut(r.Active, "@")
	if !ok || !strings.EqualFold(host, StoreDaemonHost) {
		return ""
	}
	return uid
}

// Envelope is the head of a queue file, before the "*" line: retry count
// and a 1, the channel, the sender, then an rfc822;<orig> line and an
// active-address line per recipient (the format WriteQueue plants).
type Envelope struct {
	Retries    int
	Channel    string
	From       string
	Recipients []Recipient
}

// submittedIDMark is the first character of the id of a message that
// msguard-sim's SMTP server enqueued; the planted backlog's ids start with
// "0" (appendQueueID). The job controller delivers submitted messages
// from its job list (JobsDir) and the start-time backlog delivery leaves
// them to it.
const submittedIDMark = '1'

// IsSubmittedQueueFile tells whether a queue file name (not a temporary
// "$" one) is that of a message the simulated SMTP server enqueued.
func IsSubmittedQueueFile(name string) bool {
	return len(name) > 3 && !strings.HasPrefix(name, "$") && name[2] == submittedIDMark
}

// JobsDir is the job controller's list of submitted messages waiting for
// delivery: one file per message, named as the queue file, holding its
// path relative to the queue. The SMTP server writes it once the queue
// file is in place; the job controller removes it after delivery. It is
// simulator state (ROOT/.msguard-sim/jobs): collectors never read it.
func JobsDir(p sim.Paths) string { return filepath.Join(p.StateDir(), "jobs") }

// newSubmittedName returns a fresh queue file name ZZ1<13 base-32 digits>.00.
func newSubmittedName() string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	x := binary.BigEndian.Uint64(r[:])
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
	var d [13]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = digits[x&31]
		x >>= 5
	}
	return retryCodes[0] + string(submittedIDMark) + string(d[:]) + ".00"
}

// Enqueue writes a message accepted over SMTP as a queue file of
// env.Channel (in subdirectory 000 when the channels have numbered
// subdirectories), then records it in JobsDir. The file is written as a
// "$" temporary file and renamed into place once complete, so a queue
// reader never sees half a message. It returns the file's path relative
// to the queue.
func Enqueue(p sim.Paths, subdirs int, env Envelope, msg []byte) (string, error) {
	if env.Channel == "" || len(env.Recipients) == 0 {
		return "", errors.New("enqueue: no channel or no recipient")
	}
	dir := filepath.Join(p.Queue(), env.Channel)
	if subdirs > 0 {
		dir = filepath.Join(dir, "000")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("enqueue: %w", err)
	}
	if err := os.MkdirAll(JobsDir(p), 0o755); err != nil {
		return "", fmt.Errorf("enqueue: %w", err)
	}
	name := newSubmittedName()
	rel, err := filepath.Rel(p.Queue(), filepath.Join(dir, name))
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d 1\n%s\n%s\n", env.Retries, env.Channel, env.From)
	for _, r := range env.Recipients {
		fmt.Fprintf(&b, "rfc822;%s\n%s\n", r.Orig, r.Active)
	}
	b.WriteString("*\n")
	b.Write(bytes.ReplaceAll(msg, []byte("\r\n"), []byte("\n")))
	tmp := filepath.Join(dir, "$"+name)
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("enqueue %s: %w", rel, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("enqueue %s: %w", rel, err)
	}
	// The job only once the file is in place: a job whose file is missing
	// is dropped (DeliverSubmitted), and the backlog delivery leaves
	// submitted files alone by their name.
	if err := sim.WriteFileAtomic(filepath.Join(JobsDir(p), name), []byte(filepath.ToSlash(rel)+"\n"), 0o644); err != nil {
		os.Remove(filepath.Join(dir, name))
		return "", fmt.Errorf("enqueue %s: record the job: %w", rel, err)
	}
	return rel, nil
}

// ReadQueueFile parses a queue file: its envelope and the RFC 822 message
// after the "*" line.
func ReadQueueFile(path string) (Envelope, []byte, error) {
	var env Envelope
	f, err := os.Open(path)
	if err != nil {
		return env, nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var head []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return env, nil, fmt.Errorf("queue file %s: no \"*\" line ending the envelope", filepath.Base(path))
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "*" {
			break
		}
		head = append(head, line)
	}
	if len(head) < 5 || (len(head)-3)%2 != 0 {
		return env, nil, fmt.Errorf("queue file %s: envelope of %d lines, want 3 + 2 per recipient", filepath.Base(path), len(head))
	}
	if _, err := fmt.Sscanf(head[0], "%d", &env.Retries); err != nil {
		return env, nil, fmt.Errorf("queue file %s: first line %q: %w", filepath.Base(path), head[0], err)
	}
	env.Channel, env.From = head[1], head[2]
	for i := 3; i+1 < len(head); i += 2 {
		orig, ok := strings.CutPrefix(head[i], "rfc822;")
		if !ok {
			return env, nil, fmt.Errorf("queue file %s: recipient line %q lacks rfc822;", filepath.Base(path), head[i])
		}
		env.Recipients = append(env.Recipients, Recipient{Orig: orig, Active: head[i+1]})
	}
	msg, err := io.ReadAll(r)
	if err != nil {
		return env, nil, fmt.Errorf("queue file %s: %w", filepath.Base(path), err)
	}
	return env, msg, nil
}

// PendingJobs lists the job controller's waiting jobs (JobsDir), oldest
// name first: each is the queue file's name and its path relative to the
// queue.
func PendingJobs(p sim.Paths) ([][2]string, error) {
	ents, err := os.ReadDir(JobsDir(p))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out [][2]string
	for _, e := range ents {
		if !e.Type().IsRegular() || !IsSubmittedQueueFile(e.Name()) {
			continue
		}
		b, err := os.ReadFile(filepath.Join(JobsDir(p), e.Name()))
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, [2]string{e.Name(), filepath.FromSlash(strings.TrimSpace(string(b)))})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out, nil
}

// DeliverSubmitted delivers one submitted message, the queue file at rel
// below the queue: a copy into the store mailbox of each recipient on
// StoreChannel (headed by a Return-path line), then the queue file and
// its job are removed. A recipient not on StoreChannel cannot be
// delivered here (the simulated SMTP server accepts only local ones): the
// file stays queued and the error says so. A job whose queue file is gone
// (removed by hand, or restored from a backup without it) is dropped.
func DeliverSubmitted(p sim.Paths, name, rel string) (delivered []string, err error) {
	path := filepath.Join(p.Queue(), rel)
	env, msg, err := ReadQueueFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, os.Remove(filepath.Join(JobsDir(p), name))
	}
	if err != nil {
		return nil, err
	}
	var uids []string
	for _, r := range env.Recipients {
		uid := r.StoreUID()
		if uid == "" {
			return nil, fmt.Errorf("queue file %s: recipient %s (%s) is not for the store: left queued", rel, r.Orig, r.Active)
		}
		uids = append(uids, uid)
	}
	full := append([]byte("Return-path: <"+env.From+">\n"), msg...)
	for _, uid := range uids {
		if _, err := StoreMailbox(p, uid).Append(full, nil); err != nil {
			return delivered, err
		}
		delivered = append(delivered, uid)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return delivered, fmt.Errorf("dequeue %s: %w", rel, err)
	}
	if err := os.Remove(filepath.Join(JobsDir(p), name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return delivered, err
	}
	return delivered, nil
}
