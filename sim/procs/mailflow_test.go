package procs_test

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap"
	imapclient "github.com/emersion/go-imap/client"
	"github.com/emersion/go-smtp"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/simtest"
	"github.com/msguard/msguard/sim/tree"
)

// mailHost is a started simulated host on a real slapd, small enough for
// a unit test.
func mailHost(t *testing.T, version string) *simtest.Host {
	t.Helper()
	h := simtest.New(t, func(sc *sim.Scenario) {
		sc.MsgVersion, sc.Users, sc.PAB = version, 5, 2
		sc.Queue = sim.QueueSpec{Messages: 12, Held: 2, Subdirs: 2}
		sc.Store.MessagesPerBox = 2
		sc.Secrets.ProbePassword = "probe-test-pass-1"
	})
	h.Start(t)
	t.Cleanup(func() { h.Stop(t) })
	return h
}

func addr(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// probeAddress is the probe account's mail address.
func probeAddress(h *simtest.Host) string {
	return h.State.Scenario.Secrets.ProbeUID + "@" + tree.DefDomain
}

// submit sends one message with go-smtp's client and returns the error of
// the first refused step.
func submit(t *testing.T, h *simtest.Host, to, subject string) error {
	t.Helper()
	c, err := smtp.Dial(addr(h.State.Scenario.Ports.SMTP))
	if err != nil {
		t.Fatalf("dial SMTP: %v", err)
	}
	defer c.Close()
	if err := c.Hello("probe.example.org"); err != nil {
		return err
	}
	if err := c.Mail("probe@example.org", nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "From: probe@example.org\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@example.org>\r\n\r\nmail-flow probe %s\r\n", to, subject, subject, subject)
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// submittedFiles lists the queue files the SMTP server wrote (relative to
// the queue).
func submittedFiles(t *testing.T, p sim.Paths) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(p.Queue(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && tree.IsSubmittedQueueFile(d.Name()) {
			rel, _ := filepath.Rel(p.Queue(), path)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// storeHolding returns the UIDs of the messages of uid's mailbox whose
// content holds tag.
func storeHolding(t *testing.T, p sim.Paths, uid, tag string) []uint32 {
	t.Helper()
	mb := tree.StoreMailbox(p, uid)
	ix, err := mb.Read()
	if err != nil {
		t.Fatal(err)
	}
	var out []uint32
	for _, m := range ix.Messages {
		b, err := mb.Body(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), tag) {
			out = append(out, m.UID)
		}
	}
	return out
}

// waitFor polls cond until it holds or a minute has passed (a bound on a
// hung daemon, not a performance threshold).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func plant(t *testing.T, h *simtest.Host, fault, domain string, on bool) {
	t.Helper()
	if err := sim.PlantFault(h.Root, fault, domain, on); err != nil {
		t.Fatal(err)
	}
}

// TestSMTPIntoQueueAndStore: a message submitted over SMTP becomes a queue
// file of the ims-ms channel, with its envelope, while delivery is
// stopped; once delivery resumes, the job controller moves it into the
// recipient's store mailbox and the queue file goes. The 5.1 MTA delivers
// what it accepts but, unlike 5.2, leaves the planted backlog queued.
func TestSMTPIntoQueueAndStore(t *testing.T) {
	for _, tc := range []struct {
		version     string
		backlogGone bool
	}{
		{"5.1", false},
		{"5.2", true},
	} {
		t.Run(tc.version, func(t *testing.T) {
			h := mailHost(t, tc.version)
			p, uid := h.Paths, h.State.Scenario.Secrets.ProbeUID
			tag := "tag-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			plant(t, h, sim.FaultDeliveryStops, "", true)
			if err := submit(t, h, probeAddress(h), tag); err != nil {
				t.Fatalf("submit: %v", err)
			}
			files := submittedFiles(t, p)
			if len(files) != 1 || !strings.HasPrefix(files[0], filepath.Join(tree.StoreChannel, "000")+string(filepath.Separator)) {
				t.Fatalf("queue files from SMTP = %v, want one in %s/000", files, tree.StoreChannel)
			}
			env, msg, err := tree.ReadQueueFile(filepath.Join(p.Queue(), files[0]))
			if err != nil {
				t.Fatal(err)
			}
			wantRcpt := tree.Recipient{Orig: probeAddress(h), Active: uid + "@" + tree.StoreDaemonHost}
			if env.Channel != tree.StoreChannel || env.From != "probe@example.org" || len(env.Recipients) != 1 || env.Recipients[0] != wantRcpt {
				t.Errorf("envelope = %+v", env)
			}
			if !strings.Contains(string(msg), "Subject: "+tag) || !strings.HasPrefix(string(msg), "Received: ") {
				t.Errorf("queued message:\n%s", msg)
			}
			time.Sleep(500 * time.Millisecond) // five delivery polls: still queued while stopped
			if got := submittedFiles(t, p); len(got) != 1 {
				t.Fatalf("delivery stopped, yet the queue holds %v", got)
			}
			if got := storeHolding(t, p, uid, tag); len(got) != 0 {
				t.Fatalf("delivery stopped, yet the store holds the message (UIDs %v)", got)
			}

			plant(t, h, sim.FaultDeliveryStops, "", false)
			waitFor(t, "the message is in the store", func() bool { return len(storeHolding(t, p, uid, tag)) == 1 })
			waitFor(t, "the queue file is gone", func() bool { return len(submittedFiles(t, p)) == 0 })
			if ents, err := os.ReadDir(tree.JobsDir(p)); err != nil || len(ents) != 0 {
				t.Errorf("job list after delivery: %v, %v", ents, err)
			}
			// The planted backlog: delivered by 5.2 only (held files stay).
			waitFor(t, "the backlog is settled", func() bool {
				_, err := os.Stat(filepath.Join(p.Inst(), "imta", "queue"))
				return err == nil && (!tc.backlogGone || countQueue(t, p) == h.State.Scenario.Queue.Held)
			})
			if n := countQueue(t, p); (n == h.State.Scenario.Queue.Held) != tc.backlogGone {
				t.Errorf("%s: %d queue files left of %d", tc.version, n, h.State.Scenario.Queue.Messages)
			}
		})
	}
}

// countQueue counts the message files of the queue.
func countQueue(t *testing.T, p sim.Paths) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(p.Queue(), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), "$") {
			n++
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	return n
}

// TestSMTPRefusals: recipients outside the local domains are refused as
// relaying, unknown local ones as unknown, and the relay-denied fault
// refuses the probe's own domain; the greeting is the iPlanet banner.
func TestSMTPRefusals(t *testing.T) {
	h := mailHost(t, "5.2")
	c, err := net.Dial("tcp", addr(h.State.Scenario.Ports.SMTP))
	if err != nil {
		t.Fatal(err)
	}
	greeting := make([]byte, 512)
	n, _ := c.Read(greeting)
	c.Close()
	want := "220 " + h.State.Scenario.Host + " -- Server ESMTP (" + sim.MsgBanner(h.State.MsgVersion) + ")\r\n"
	if string(greeting[:n]) != want {
		t.Errorf("greeting %q, want %q", greeting[:n], want)
	}
	for _, tc := range []struct {
		name, to, fault string
		code            int
		enhanced        smtp.EnhancedCode
	}{
		{"relaying", "someone@example.org", "", 550, smtp.EnhancedCode{5, 7, 1}},
		{"unknown local user", "nobody@" + tree.DefDomain, "", 550, smtp.EnhancedCode{5, 1, 1}},
		{"relay-denied fault", probeAddress(h), sim.FaultSMTPRelayDenied, 550, smtp.EnhancedCode{5, 7, 1}},
		{"accepted", probeAddress(h), "", 0, smtp.EnhancedCode{}},
		{"accepted at the host's name", h.State.Scenario.Secrets.ProbeUID + "@" + h.State.Scenario.Host, "", 0, smtp.EnhancedCode{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != "" {
				plant(t, h, tc.fault, tree.DefDomain, true)
				defer plant(t, h, tc.fault, tree.DefDomain, false)
			}
			err := submit(t, h, tc.to, "refusal-"+strconv.Itoa(tc.code))
			var se *smtp.SMTPError
			switch {
			case tc.code == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.code == 0:
			case !errors.As(err, &se):
				t.Fatalf("err = %v, want SMTP %d", err, tc.code)
			case se.Code != tc.code || se.EnhancedCode != tc.enhanced || !strings.Contains(se.Message, tc.to):
				t.Errorf("reply %d %v %q, want %d %v naming %s", se.Code, se.EnhancedCode, se.Message, tc.code, tc.enhanced, tc.to)
			}
		})
	}
	waitFor(t, "the accepted message is delivered", func() bool { return len(submittedFiles(t, h.Paths)) == 0 })
	if got := storeHolding(t, h.Paths, h.State.Scenario.Secrets.ProbeUID, "refusal-"); len(got) != 2 {
		t.Errorf("store holds %d refusal-test messages, want the two accepted ones", len(got))
	}
}

// fetchAndDeleteIMAP logs in over IMAP with go-imap's client, finds the
// message whose Subject is tag, reads it, flags it \Deleted and expunges
// it. It returns the message as read.
func fetchAndDeleteIMAP(t *testing.T, h *simtest.Host, user, password, tag string) (string, error) {
	t.Helper()
	c, err := imapclient.Dial(addr(h.State.Scenario.Ports.IMAP))
	if err != nil {
		t.Fatalf("dial IMAP: %v", err)
	}
	defer c.Logout()
	if err := c.Login(user, password); err != nil {
		return "", err
	}
	if _, err := c.Select("INBOX", false); err != nil {
		return "", err
	}
	crit := imap.NewSearchCriteria()
	crit.Header.Add("Subject", tag)
	uids, err := c.UidSearch(crit)
	if err != nil {
		return "", err
	}
	if len(uids) != 1 {
		return "", fmt.Errorf("SEARCH SUBJECT %s: UIDs %v, want one", tag, uids)
	}
	set := new(imap.SeqSet)
	set.AddNum(uids...)
	section := &imap.BodySectionName{Peek: true}
	ch := make(chan *imap.Message, 1)
	if err := c.UidFetch(set, []imap.FetchItem{section.FetchItem(), imap.FetchUid, imap.FetchRFC822Size}, ch); err != nil {
		return "", err
	}
	msg := <-ch
	if msg == nil || msg.GetBody(section) == nil {
		return "", fmt.Errorf("FETCH returned no body")
	}
	b, _ := io.ReadAll(msg.GetBody(section))
	if uint32(len(b)) != msg.Size {
		t.Errorf("RFC822.SIZE %d, body %d bytes", msg.Size, len(b))
	}
	if err := c.UidStore(set, imap.FormatFlagsOp(imap.AddFlags, true), []any{imap.DeletedFlag}, nil); err != nil {
		return string(b), err
	}
	return string(b), c.Expunge(nil)
}

// fetchAndDeletePOP does the same over POP3 (net/textproto: there is no
// POP3 client library here): USER, PASS, UIDL, RETR of each message until
// the tagged one, DELE, QUIT.
func fetchAndDeletePOP(t *testing.T, h *simtest.Host, user, password, tag string) (string, error) {
	t.Helper()
	c, err := textproto.Dial("tcp", addr(h.State.Scenario.Ports.POP))
	if err != nil {
		t.Fatalf("dial POP3: %v", err)
	}
	defer c.Close()
	cmd := func(format string, args ...any) (string, error) {
		if format != "" {
			if err := c.PrintfLine(format, args...); err != nil {
				return "", err
			}
		}
		line, err := c.ReadLine()
		if err != nil {
			return "", err
		}
		if !strings.HasPrefix(line, "+OK") {
			return "", errors.New(line)
		}
		return line, nil
	}
	if _, err := cmd(""); err != nil {
		return "", err
	}
	if _, err := cmd("USER %s", user); err != nil {
		return "", err
	}
	if _, err := cmd("PASS %s", password); err != nil {
		return "", err
	}
	if _, err := cmd("UIDL"); err != nil {
		return "", err
	}
	uidl, err := c.ReadDotLines()
	if err != nil {
		return "", err
	}
	for _, l := range uidl {
		n, _, _ := strings.Cut(l, " ")
		if _, err := cmd("RETR %s", n); err != nil {
			return "", err
		}
		lines, err := c.ReadDotLines()
		if err != nil {
			return "", err
		}
		body := strings.Join(lines, "\n")
		if !strings.Contains(body, "Subject: "+tag) {
			continue
		}
		if _, err := cmd("DELE %s", n); err != nil {
			return body, err
		}
		_, err = cmd("QUIT")
		return body, err
	}
	return "", fmt.Errorf("no message with Subject %s among %d", tag, len(uidl))
}

// TestFetchAndDelete: a message submitted over SMTP and delivered is read
// and deleted over IMAP and over POP3 with the probe account's directory
// password; afterwards the store holds none of it and the mailbox's other
// messages are untouched.
func TestFetchAndDelete(t *testing.T) {
	h := mailHost(t, "5.2")
	sc := h.State.Scenario
	uid, pass := sc.Secrets.ProbeUID, sc.Secrets.ProbePassword
	for _, tc := range []struct {
		name  string
		fetch func(t *testing.T, h *simtest.Host, user, password, tag string) (string, error)
	}{
		{"imap", fetchAndDeleteIMAP},
		{"pop3", fetchAndDeletePOP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tag := "tag-" + tc.name + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
			if err := submit(t, h, probeAddress(h), tag); err != nil {
				t.Fatalf("submit: %v", err)
			}
			waitFor(t, "delivered", func() bool { return len(storeHolding(t, h.Paths, uid, tag)) == 1 })
			body, err := tc.fetch(t, h, uid, pass, tag)
			if err != nil {
				t.Fatalf("fetch and delete: %v", err)
			}
			if !strings.Contains(body, "mail-flow probe "+tag) {
				t.Errorf("fetched:\n%s", body)
			}
			if got := storeHolding(t, h.Paths, uid, tag); len(got) != 0 {
				t.Errorf("the store still holds the message (UIDs %v)", got)
			}
			ix, err := tree.StoreMailbox(h.Paths, uid).Read()
			if err != nil || len(ix.Messages) != sc.Store.MessagesPerBox {
				t.Errorf("mailbox holds %d messages (%v), want its %d own", len(ix.Messages), err, sc.Store.MessagesPerBox)
			}
			files, _ := filepath.Glob(filepath.Join(tree.StoreMailbox(h.Paths, uid).Dir, "00", "*"))
			if len(files) != sc.Store.MessagesPerBox {
				t.Errorf("mailbox directory holds %v", files)
			}
		})
	}
}

// TestLoginRefusals: a wrong password fails both logins; the
// imap-refuses-logins fault fails IMAP's (naming the schema) while POP3
// still logs in.
func TestLoginRefusals(t *testing.T) {
	h := mailHost(t, "5.2")
	sc := h.State.Scenario
	uid, pass := sc.Secrets.ProbeUID, sc.Secrets.ProbePassword
	for _, tc := range []struct {
		name, password, fault string
		imapErr, popErr       string // "" = logs in
	}{
		{"right password", pass, "", "", ""},
		{"wrong password", pass + "x", "", "Authentication failed", "-ERR [AUTH] Authentication failed"},
		{"another user's password", directory.UserPassword(uid), "", "Authentication failed", "-ERR [AUTH] Authentication failed"},
		{"imap-refuses-logins", pass, sim.FaultIMAPRefusesLogins, "schema", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != "" {
				plant(t, h, tc.fault, "", true)
				defer plant(t, h, tc.fault, "", false)
			}
			check := func(proto, want string, err error) {
				switch {
				case want == "" && err != nil && !strings.Contains(err.Error(), "no message with Subject"):
					t.Errorf("%s: %v, want a login", proto, err)
				case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
					t.Errorf("%s: %v, want a refusal with %q", proto, err, want)
				}
			}
			_, err := fetchAndDeleteIMAP(t, h, uid, tc.password, "no-such-tag")
			if err != nil && strings.Contains(err.Error(), "SEARCH SUBJECT") {
				err = errors.New("no message with Subject (logged in)")
			}
			check("IMAP", tc.imapErr, err)
			_, err = fetchAndDeletePOP(t, h, uid, tc.password, "no-such-tag")
			check("POP3", tc.popErr, err)
		})
	}
}
