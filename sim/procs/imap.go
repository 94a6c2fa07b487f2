package procs

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-imap"
	"github.com/emersion/go-imap/backend"
	"github.com/emersion/go-imap/backend/backendutil"
	imapserver "github.com/emersion/go-imap/server"
	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

// imapGreeting is imapd's banner (layout.md).
func imapGreeting(st *sim.State) string {
	return "* OK " + st.Scenario.Host + " IMAP4 service (" + sim.MsgBanner(st.MsgVersion) + ")"
}

// errIMAPSchema is the refusal of every LOGIN under
// FailSpec.IMAPRefusesLogins: what imapd says when the directory lacks the
// 5.2 schema.
var errIMAPSchema = errors.New("[UNAVAILABLE] LOGIN failed: directory schema error: object class inetMailUser is not defined (run ims_dssetup.pl)")

// serveIMAP serves IMAP4rev1 on ln with go-imap's server until ctx ends:
// LOGIN checks the password with a bind to the user directory (userDir);
// the session sees the user's INBOX in the store (tree.Mailbox), with
// SELECT, FETCH, SEARCH, STORE, COPY to INBOX, APPEND and EXPUNGE working
// on the store files. No STARTTLS: the simulated install has no
// certificate, so plain-text LOGIN is allowed.
func serveIMAP(ctx context.Context, st *sim.State, ln net.Listener, stderr io.Writer) error {
	s := imapserver.New(&imapBackend{st: st, dir: userDirOf(st), stderr: stderr})
	s.AllowInsecureAuth = true
	s.ErrorLog = stderrLogger{w: stderr, name: "imapd"}
	go func() { <-ctx.Done(); _ = s.Close() }()
	err := s.Serve(greetingListener{Listener: ln, greeting: imapGreeting(st)})
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

type imapBackend struct {
	st     *sim.State
	dir    userDir
	stderr io.Writer
}

func (b *imapBackend) Login(_ *imap.ConnInfo, username, password string) (backend.User, error) {
	if liveFail(b.st).IMAPRefusesLogins {
		return nil, errIMAPSchema
	}
	uid, err := loginUser(b.dir, b.stderr, "imapd", username, password)
	if err != nil {
		return nil, err
	}
	return &imapUser{uid: uid, mbox: tree.StoreMailbox(b.st.Paths(), uid)}, nil
}

// loginUser authenticates username against the directory; the error is
// what the client may be told.
func loginUser(dir userDir, stderr io.Writer, daemon, username, password string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*userLookupTimeout)
	defer cancel()
	uid, err := dir.authenticate(ctx, username, password)
	switch {
	case errors.Is(err, errBadCredentials):
		return "", errors.New("Authentication failed")
	case err != nil:
		fmt.Fprintf(stderr, "%s %s: login %s: %v\n", time.Now().Format(time.RFC3339), daemon, username, err)
		return "", errors.New("[UNAVAILABLE] Directory unavailable, try again later")
	}
	return uid, nil
}

// imapUser is a logged-in user: one mailbox, INBOX.
type imapUser struct {
	uid  string
	mbox tree.Mailbox
}

// errOnlyInbox refuses mailbox management: the simulated store holds INBOX only.
var errOnlyInbox = errors.New("Mailbox operations are not supported: the store holds INBOX only")

func (u *imapUser) Username() string { return u.uid }
func (u *imapUser) ListMailboxes(bool) ([]backend.Mailbox, error) {
	return []backend.Mailbox{&imapMailbox{mb: u.mbox}}, nil
}
func (u *imapUser) GetMailbox(name string) (backend.Mailbox, error) {
	if !strings.EqualFold(name, "INBOX") {
		return nil, backend.ErrNoSuchMailbox
	}
	return &imapMailbox{mb: u.mbox}, nil
}
func (u *imapUser) CreateMailbox(string) error         { return errOnlyInbox }
func (u *imapUser) DeleteMailbox(string) error         { return errOnlyInbox }
func (u *imapUser) RenameMailbox(string, string) error { return errOnlyInbox }
func (u *imapUser) Logout() error                      { return nil }

// imapMailbox is INBOX over a store mailbox. Sequence numbers are the
// positions in store.idx, read afresh for every command.
type imapMailbox struct {
	mb tree.Mailbox
}

func (m *imapMailbox) Name() string { return "INBOX" }
func (m *imapMailbox) Info() (*imap.MailboxInfo, error) {
	return &imap.MailboxInfo{Delimiter: "/", Name: "INBOX"}, nil
}
func (m *imapMailbox) SetSubscribed(bool) error { return nil }
func (m *imapMailbox) Check() error             { return nil }

var permanentFlags = []string{imap.SeenFlag, imap.AnsweredFlag, imap.FlaggedFlag, imap.DeletedFlag, imap.DraftFlag}

func (m *imapMailbox) Status(items []imap.StatusItem) (*imap.MailboxStatus, error) {
	ix, err := m.mb.Read()
	if err != nil {
		return nil, err
	}
	st := imap.NewMailboxStatus("INBOX", items)
	st.Flags, st.PermanentFlags = permanentFlags, permanentFlags
	var unseen uint32
	for i, msg := range ix.Messages {
		if !hasFlag(msg.Flags, imap.SeenFlag) {
			unseen++
			if st.UnseenSeqNum == 0 {
				st.UnseenSeqNum = uint32(i + 1)
			}
		}
	}
	for _, item := range items {
		switch item {
		case imap.StatusMessages:
			st.Messages = uint32(len(ix.Messages))
		case imap.StatusUidNext:
			st.UidNext = ix.UIDNext
		case imap.StatusUidValidity:
			st.UidValidity = ix.UIDValidity
		case imap.StatusRecent:
			st.Recent = 0
		case imap.StatusUnseen:
			st.Unseen = unseen
		}
	}
	return st, nil
}

func hasFlag(flags []string, f string) bool {
	for _, x := range flags {
		if strings.EqualFold(x, f) {
			return true
		}
	}
	return false
}

// selected returns the messages of ix that seqset names, by UID or by
// sequence number, with their sequence numbers; "*" is the last one.
func selected(ix *tree.MailboxIndex, uid bool, seqset *imap.SeqSet) (msgs []tree.StoredMessage, seqNums []uint32) {
	n := len(ix.Messages)
	for i, msg := range ix.Messages {
		id := uint32(i + 1)
		if uid {
			id = msg.UID
		}
		if seqset.Contains(id) || (i == n-1 && seqset.Contains(0)) {
			msgs = append(msgs, msg)
			seqNums = append(seqNums, uint32(i+1))
		}
	}
	return msgs, seqNums
}

// wireBody is a stored message as IMAP serves it: CRLF line ends.
func (m *imapMailbox) wireBody(msg tree.StoredMessage) ([]byte, error) {
	b, err := m.mb.Body(msg)
	if err != nil {
		return nil, err
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n")), nil
}

func (m *imapMailbox) ListMessages(uid bool, seqset *imap.SeqSet, items []imap.FetchItem, ch chan<- *imap.Message) error {
	defer close(ch)
	ix, err := m.mb.Read()
	if err != nil {
		return err
	}
	msgs, seqNums := selected(ix, uid, seqset)
	for i, msg := range msgs {
		body, err := m.wireBody(msg)
		if err != nil {
			return err
		}
		out, err := fetch(seqNums[i], msg, body, items)
		if err != nil {
			return err
		}
		ch <- out
	}
	return nil
}

// fetch builds the FETCH response of one message (as go-imap's memory
// backend does, from backendutil).
func fetch(seqNum uint32, msg tree.StoredMessage, body []byte, items []imap.FetchItem) (*imap.Message, error) {
	out := imap.NewMessage(seqNum, items)
	headerAndBody := func() (textproto.Header, *bufio.Reader, error) {
		r := bufio.NewReader(bytes.NewReader(body))
		hdr, err := textproto.ReadHeader(r)
		return hdr, r, err
	}
	for _, item := range items {
		switch item {
		case imap.FetchEnvelope:
			hdr, _, err := headerAndBody()
			if err != nil {
				return nil, err
			}
			if out.Envelope, err = backendutil.FetchEnvelope(hdr); err != nil {
				return nil, err
			}
		case imap.FetchBody, imap.FetchBodyStructure:
			hdr, r, err := headerAndBody()
			if err != nil {
				return nil, err
			}
			if out.BodyStructure, err = backendutil.FetchBodyStructure(hdr, r, item == imap.FetchBodyStructure); err != nil {
				return nil, err
			}
		case imap.FetchFlags:
			out.Flags = msg.Flags
		case imap.FetchInternalDate:
			out.InternalDate = internalDate(body)
		case imap.FetchRFC822Size:
			out.Size = uint32(len(body))
		case imap.FetchUid:
			out.Uid = msg.UID
		default:
			section, err := imap.ParseBodySectionName(item)
			if err != nil {
				return nil, err
			}
			hdr, r, err := headerAndBody()
			if err != nil {
				return nil, err
			}
			l, err := backendutil.FetchBodySection(hdr, r, section)
			if err != nil {
				l = bytes.NewReader(nil) // a section the message lacks is empty
			}
			out.Body[section] = l
		}
	}
	return out, nil
}

// internalDate is the message's Date header, or the Unix epoch when it has
// none that parses.
func internalDate(body []byte) time.Time {
	if m, err := mail.ReadMessage(bytes.NewReader(body)); err == nil {
		if d, err := m.Header.Date(); err == nil {
			return d
		}
	}
	return time.Unix(0, 0).UTC()
}

func (m *imapMailbox) SearchMessages(uid bool, criteria *imap.SearchCriteria) ([]uint32, error) {
	ix, err := m.mb.Read()
	if err != nil {
		return nil, err
	}
	var out []uint32
	for i, msg := range ix.Messages {
		body, err := m.wireBody(msg)
		if err != nil {
			return nil, err
		}
		e, err := message.Read(bytes.NewReader(body))
		if err != nil && !message.IsUnknownCharset(err) && !message.IsUnknownEncoding(err) {
			return nil, fmt.Errorf("message %d: %w", msg.UID, err)
		}
		ok, err := backendutil.Match(e, uint32(i+1), msg.UID, internalDate(body), msg.Flags, criteria)
		if err != nil {
			return nil, err
		}
		if ok {
			id := uint32(i + 1)
			if uid {
				id = msg.UID
			}
			out = append(out, id)
		}
	}
	return out, nil
}

// storeForm is a message as the store keeps it: LF line ends.
func storeForm(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

func (m *imapMailbox) CreateMessage(flags []string, _ time.Time, body imap.Literal) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	_, err = m.mb.Append(storeForm(b), flags)
	return err
}

func (m *imapMailbox) UpdateMessagesFlags(uid bool, seqset *imap.SeqSet, op imap.FlagsOp, flags []string) error {
	return m.mb.Update(func(ix *tree.MailboxIndex) error {
		n := len(ix.Messages)
		for i := range ix.Messages {
			id := uint32(i + 1)
			if uid {
				id = ix.Messages[i].UID
			}
			if seqset.Contains(id) || (i == n-1 && seqset.Contains(0)) {
				ix.Messages[i].Flags = backendutil.UpdateFlags(ix.Messages[i].Flags, op, flags)
			}
		}
		return nil
	})
}

func (m *imapMailbox) CopyMessages(uid bool, seqset *imap.SeqSet, dest string) error {
	if !strings.EqualFold(dest, "INBOX") {
		return backend.ErrNoSuchMailbox
	}
	ix, err := m.mb.Read()
	if err != nil {
		return err
	}
	msgs, _ := selected(ix, uid, seqset)
	for _, msg := range msgs {
		b, err := m.mb.Body(msg)
		if err != nil {
			return err
		}
		if _, err := m.mb.Append(b, msg.Flags); err != nil {
			return err
		}
	}
	return nil
}

func (m *imapMailbox) Expunge() error {
	_, err := m.mb.Expunge()
	return err
}
