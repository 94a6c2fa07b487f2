package tree

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/msguard/msguard/sim"
)

// TestMailboxAppendFlagsExpunge: a mailbox written at create time takes
// appended messages after its own, keeps flags, expunges only \Deleted
// messages (files and index lines) and never gives a UID twice.
func TestMailboxAppendFlagsExpunge(t *testing.T) {
	part := t.TempDir()
	if err := writeMailbox(part, 3, 2, "mail.siroe.com"); err != nil {
		t.Fatal(err)
	}
	mb := OpenMailbox(part, UserID(3))
	steps := []struct {
		name    string
		do      func() error
		wantUID []uint32
	}{
		{"as created", func() error { return nil }, []uint32{1, 2}},
		{"append", func() error { _, err := mb.Append([]byte("Subject: a\n\nA\n"), nil); return err }, []uint32{1, 2, 3}},
		{"flag and expunge the new one", func() error {
			if err := mb.Update(func(ix *MailboxIndex) error {
				ix.Messages[2].Flags = append(ix.Messages[2].Flags, `\Seen`, DeletedFlag)
				return nil
			}); err != nil {
				return err
			}
			gone, err := mb.Expunge()
			if err == nil && !slices.Equal(gone, []uint32{3}) {
				t.Errorf("expunged %v, want [3]", gone)
			}
			return err
		}, []uint32{1, 2}},
		{"append after expunge takes a new UID", func() error { _, err := mb.Append([]byte("Subject: b\n\nB\n"), []string{`\Seen`}); return err }, []uint32{1, 2, 4}},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		ix, err := mb.Read()
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		var uids []uint32
		for _, m := range ix.Messages {
			uids = append(uids, m.UID)
			if _, err := mb.Body(m); err != nil {
				t.Errorf("%s: %v", s.name, err)
			}
		}
		if !slices.Equal(uids, s.wantUID) {
			t.Errorf("%s: UIDs %v, want %v", s.name, uids, s.wantUID)
		}
		files, _ := filepath.Glob(filepath.Join(mb.Dir, "00", "*.msg"))
		if len(files) != len(s.wantUID) {
			t.Errorf("%s: %d message files, want %d", s.name, len(files), len(s.wantUID))
		}
	}
	ix, _ := mb.Read()
	if last := ix.Messages[len(ix.Messages)-1]; !slices.Equal(last.Flags, []string{`\Seen`}) || ix.UIDValidity != 1000000003 {
		t.Errorf("last message flags %v, uidvalidity %d", last.Flags, ix.UIDValidity)
	}
	// A mailbox nothing was delivered to reads empty and is created by a delivery.
	fresh := OpenMailbox(part, "newcomer")
	if ix, err := fresh.Read(); err != nil || len(ix.Messages) != 0 || ix.UIDNext != 1 {
		t.Fatalf("fresh mailbox: %+v, %v", ix, err)
	}
	if uid, err := fresh.Append([]byte("x\n"), nil); err != nil || uid != 1 {
		t.Fatalf("first delivery: %d, %v", uid, err)
	}
}

// TestEnqueueDeliver: a message enqueued as the SMTP server does is a
// complete queue file (never "$"), counted as a message, listed as a job,
// left alone by the backlog delivery, and delivered into the store by
// DeliverSubmitted, which removes the file and the job.
func TestEnqueueDeliver(t *testing.T) {
	p := sim.Paths{Root: filepath.Join(t.TempDir(), "server5"), Instance: "budgie"}
	env := Envelope{Channel: StoreChannel, From: "a@example.org", Recipients: []Recipient{
		{Orig: "user0001@siroe.com", Active: "user0001@" + StoreDaemonHost},
		{Orig: "user0002@siroe.com", Active: "user0002@" + StoreDaemonHost},
	}}
	rel, err := Enqueue(p, 4, env, []byte("Subject: s\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	if dir, name := filepath.Split(rel); dir != filepath.Join(StoreChannel, "000")+"/" || !IsSubmittedQueueFile(name) || !strings.HasSuffix(name, ".00") || len(name) != len("ZZ")+14+len(".00") {
		t.Fatalf("queue file %s", rel)
	}
	gotEnv, msg, err := ReadQueueFile(filepath.Join(p.Queue(), rel))
	if err != nil || !slices.Equal(gotEnv.Recipients, env.Recipients) || gotEnv.From != env.From || string(msg) != "Subject: s\n\nbody\n" {
		t.Fatalf("read back: %+v %q %v", gotEnv, msg, err)
	}
	if n, err := DeliverQueue(context.Background(), p); err != nil || n != 0 {
		t.Fatalf("backlog delivery took %d submitted messages (%v)", n, err)
	}
	jobs, err := PendingJobs(p)
	if err != nil || len(jobs) != 1 || jobs[0][1] != rel {
		t.Fatalf("jobs %v, %v", jobs, err)
	}
	uids, err := DeliverSubmitted(p, jobs[0][0], jobs[0][1])
	if err != nil || !slices.Equal(uids, []string{"user0001", "user0002"}) {
		t.Fatalf("delivered to %v: %v", uids, err)
	}
	for _, u := range uids {
		ix, err := StoreMailbox(p, u).Read()
		if err != nil || len(ix.Messages) != 1 {
			t.Fatalf("mailbox %s: %+v %v", u, ix, err)
		}
		b, _ := StoreMailbox(p, u).Body(ix.Messages[0])
		if string(b) != "Return-path: <a@example.org>\nSubject: s\n\nbody\n" {
			t.Errorf("stored %q", b)
		}
	}
	if _, err := os.Stat(filepath.Join(p.Queue(), rel)); !os.IsNotExist(err) {
		t.Errorf("queue file still there: %v", err)
	}
	if jobs, _ := PendingJobs(p); len(jobs) != 0 {
		t.Errorf("jobs left: %v", jobs)
	}
}

// TestEnqueueJobAfterFile: a job never names a queue file that is not
// there yet (the job controller drops such a job as a message removed by
// hand, and the message would never be delivered). A reader lists the jobs
// while messages are enqueued.
func TestEnqueueJobAfterFile(t *testing.T) {
	p := sim.Paths{Root: filepath.Join(t.TempDir(), "server5"), Instance: "budgie"}
	env := Envelope{Channel: StoreChannel, From: "a@example.org", Recipients: []Recipient{{Orig: "u@siroe.com", Active: "u@" + StoreDaemonHost}}}
	done := make(chan struct{})
	missing := make(chan string, 1)
	go func() {
		defer close(missing)
		for {
			select {
			case <-done:
				return
			default:
			}
			jobs, _ := PendingJobs(p)
			for _, j := range jobs {
				if _, err := os.Stat(filepath.Join(p.Queue(), j[1])); err != nil {
					missing <- j[1]
					return
				}
			}
		}
	}()
	for i := 0; i < 200; i++ {
		if _, err := Enqueue(p, 0, env, []byte("Subject: s\n\nb\n")); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if rel, ok := <-missing; ok {
		t.Errorf("job for %s listed before its queue file exists", rel)
	}
}
