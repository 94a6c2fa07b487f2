package tree

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/msguard/msguard/sim"
)

// QueueCounts is what one queue channel directory holds.
type QueueCounts struct {
	Messages int   // message files, held included (temp files excluded)
	Held     int   // .HELD message files
	Temp     int   // $-prefixed temporary files
	Bytes    int64 // bytes of the message files, held included
	// TempBytes is the bytes of the temporary files.
	TempBytes int64
	// OldestAge is how long before the generation time the channel's oldest
	// message was last modified (0 when the channel has no message).
	OldestAge time.Duration
}

// retryCodes are the retry-counter prefixes used, in order: never tried,
// tried once, twice, three times.
var retryCodes = [...]string{"ZZ", "ZY", "ZX", "ZW"}

// queueLayout is the deterministic distribution of queue files shared by
// WriteQueue and ExpectedQueue. Message i (0-based) and temp file j follow
// the same rule: channel = n % channels, subdir = (n / channels) % subdirs.
type queueLayout struct {
	q    sim.QueueSpec
	nch  int
	nsub int // at least 1
}

func newQueueLayout(q sim.QueueSpec) queueLayout {
	sc := sim.Scenario{Queue: q}
	sc.Defaults()
	q = sc.Queue
	q.Size = max(q.Size, 0)
	l := queueLayout{q: q, nch: len(q.Channels), nsub: q.Subdirs}
	if l.nsub < 1 {
		l.nsub = 1
	}
	return l
}

func (l queueLayout) channel(n int) int { return n % l.nch }
func (l queueLayout) subdir(n int) int  { return (n / l.nch) % l.nsub }

// held tells whether message i is .HELD: q.Held of them, spread evenly.
func (l queueLayout) held(i int) bool {
	m, h := int64(l.q.Messages), int64(l.q.Held)
	return (int64(i)+1)*h/m > int64(i)*h/m
}

// age is how long before now message i was last modified: message 0
// exactly OldestAge, later ones younger.
func (l queueLayout) age(i int) time.Duration {
	if i == 0 {
		return l.q.OldestAge
	}
	return l.q.OldestAge - time.Duration(float64(l.q.OldestAge)*float64(i)/float64(l.q.Messages))
}

func (l queueLayout) tempSize() int { return l.q.Size / 2 }

// dir is the directory of file n relative to the queue root.
func (l queueLayout) dir(root string, n int) string {
	d := filepath.Join(root, l.q.Channels[l.channel(n)])
	if l.q.Subdirs > 0 {
		d = filepath.Join(d, fmt.Sprintf("%03d", l.subdir(n)))
	}
	return d
}

// ExpectedQueue returns, per channel, what WriteQueue writes for q (after
// Scenario defaults), computed without touching the disk. Every channel of
// q appears, empty ones included.
func ExpectedQueue(q sim.QueueSpec) map[string]QueueCounts {
	l := newQueueLayout(q)
	out := make(map[string]QueueCounts, l.nch)
	for _, ch := range l.q.Channels {
		out[ch] = QueueCounts{}
	}
	for i := 0; i < l.q.Messages; i++ {
		ch := l.q.Channels[l.channel(i)]
		c := out[ch]
		if c.Messages == 0 {
			c.OldestAge = l.age(i)
		}
		c.Messages++
		if l.held(i) {
			c.Held++
		}
		c.Bytes += int64(l.q.Size)
		out[ch] = c
	}
	for j := 0; j < l.q.Temp; j++ {
		ch := l.q.Channels[l.channel(j)]
		c := out[ch]
		c.Temp++
		c.TempBytes += int64(l.tempSize())
		out[ch] = c
	}
	return out
}

// queueJob is a run of files of one directory: indices first,
// first+stride, ... below end.
type queueJob struct {
	dir                string
	temp               bool
	first, stride, end int
}

// WriteQueue writes the queue files of q (Scenario defaults applied for
// zero fields) under dir (INST/imta/queue), with mtimes relative to now.
// Files are written by parallel workers, one directory run at a time, with
// no per-file buffer allocation, so 10⁶ files take seconds.
func WriteQueue(ctx context.Context, dir string, q sim.QueueSpec, host string, now time.Time) error {
	l := newQueueLayout(q)
	for _, ch := range l.q.Channels {
		for s := 0; s < l.nsub; s++ {
			d := filepath.Join(dir, ch)
			if l.q.Subdirs > 0 {
				d = filepath.Join(d, fmt.Sprintf("%03d", s))
			}
			if err := os.MkdirAll(d, 0o755); err != nil {
				return fmt.Errorf("create queue directory %s: %w", d, err)
			}
		}
	}
	if l.q.Messages+l.q.Temp == 0 {
		return nil
	}

	// One run per directory and kind: file n is in bucket n % (nch*nsub).
	const chunk = 4096
	buckets := l.nch * l.nsub
	jobs := make(chan queueJob)
	go func() {
		defer close(jobs)
		for _, kind := range []struct {
			temp bool
			n    int
		}{{false, l.q.Messages}, {true, l.q.Temp}} {
			for b := 0; b < buckets && b < kind.n; b++ {
				for first := b; first < kind.n; first += chunk * buckets {
					end := min(first+chunk*buckets, kind.n)
					select {
					case jobs <- queueJob{dir: l.dir(dir, b), temp: kind.temp, first: first, stride: buckets, end: end}:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	workers := max(4, 2*runtime.NumCPU())
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			qw := newQueueWriter(l, host, now)
			for job := range jobs {
				if ctx.Err() != nil {
					continue
				}
				if err := qw.run(job); err != nil {
					errOnce.Do(func() { firstErr = err; cancel() })
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

// queueWriter is one worker's reusable buffers.
type queueWriter struct {
	l    queueLayout
	host string
	now  time.Time
	pad  []byte // filler text, at least Size bytes
	buf  []byte // one file's content
	name []byte
	ts   []unix.Timespec
}

func newQueueWriter(l queueLayout, host string, now time.Time) *queueWriter {
	line := []byte("The quick brown fox jumps over the lazy dog while the queue waits.  0123456789\n")
	pad := make([]byte, 0, l.q.Size+len(line))
	for len(pad) < l.q.Size {
		pad = append(pad, line...)
	}
	return &queueWriter{l: l, host: host, now: now, pad: pad,
		buf: make([]byte, 0, l.q.Size+1024), name: make([]byte, 0, 64), ts: make([]unix.Timespec, 2)}
}

func (w *queueWriter) run(job queueJob) error {
	dfd, err := unix.Open(job.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open queue directory %s: %w", job.dir, err)
	}
	defer unix.Close(dfd)
	for n := job.first; n < job.end; n += job.stride {
		var mtime time.Time
		size := w.l.q.Size
		w.name = w.name[:0]
		if job.temp {
			mtime = w.now
			size = w.l.tempSize()
			w.name = append(w.name, '$')
			w.name = appendQueueName(w.name, w.l.q.Messages+n, false)
		} else {
			mtime = w.now.Add(-w.l.age(n))
			w.name = appendQueueName(w.name, n, w.l.held(n))
		}
		w.fill(n, job.temp, mtime, size)
		if err := w.writeAt(dfd, mtime); err != nil {
			return fmt.Errorf("write queue file %s/%s: %w", job.dir, w.name, err)
		}
	}
	return nil
}

// appendQueueName appends "<retry><id>.<type>" for file number n.
func appendQueueName(b []byte, n int, held bool) []byte {
	b = append(b, retryCodes[n%len(retryCodes)]...)
	b = appendQueueID(b, n)
	if held {
		return append(b, ".HELD"...)
	}
	return append(b, ".00"...)
}

// appendQueueID appends a 14-character id unique to n: "0" and 13 base-32
// digits of a bijective scramble of n.
func appendQueueID(b []byte, n int) []byte {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUV"
	x := uint64(n)*0x9E3779B97F4A7C15 + 0x632BE59BD9B4E019
	b = append(b, '0')
	var d [13]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = digits[x&31]
		x >>= 5
	}
	return append(b, d[:]...)
}

// fill builds file n's content in w.buf: envelope lines, a '*' separator,
// then an RFC 822 message padded (or cut) to exactly size bytes.
func (w *queueWriter) fill(n int, temp bool, mtime time.Time, size int) {
	b := w.buf[:0]
	chName := w.l.q.Channels[w.l.channel(n)]
	rcpt := UserID(n%9999 + 1)
	b = strconv.AppendInt(b, int64(n%len(retryCodes)), 10)
	b = append(b, " 1\n"...)
	b = append(b, chName...)
	b = append(b, "\nsender"...)
	b = strconv.AppendInt(b, int64(n%97), 10)
	b = append(b, "@example.com\nrfc822;"...)
	b = append(b, rcpt...)
	b = append(b, '@')
	b = append(b, DefDomain...)
	b = append(b, '\n')
	b = append(b, rcpt...)
	b = append(b, '@')
	b = append(b, DefDomain...)
	b = append(b, "\n*\nReceived: from client.example.com ([127.0.0.1])\n by "...)
	b = append(b, w.host...)
	b = append(b, " (iPlanet Messaging Server 5.1) with ESMTP id <"...)
	b = appendQueueID(b, n)
	b = append(b, '@')
	b = append(b, w.host...)
	b = append(b, ">; "...)
	b = mtime.AppendFormat(b, time.RFC1123Z)
	b = append(b, "\nDate: "...)
	b = mtime.AppendFormat(b, time.RFC1123Z)
	b = append(b, "\nFrom: sender"...)
	b = strconv.AppendInt(b, int64(n%97), 10)
	b = append(b, "@example.com\nTo: "...)
	b = append(b, rcpt...)
	b = append(b, '@')
	b = append(b, DefDomain...)
	b = append(b, "\nSubject: queued message "...)
	b = strconv.AppendInt(b, int64(n), 10)
	if temp {
		b = append(b, " (being written)"...)
	}
	b = append(b, "\nMessage-ID: <"...)
	b = appendQueueID(b, n)
	b = append(b, '@')
	b = append(b, w.host...)
	b = append(b, ">\nMIME-version: 1.0\nContent-type: text/plain; charset=us-ascii\n\n"...)
	if len(b) >= size {
		b = b[:size]
	} else {
		b = append(b, w.pad[:size-len(b)]...)
	}
	w.buf = b
}

// writeAt creates w.name in the directory dfd, writes w.buf and sets both
// times to mtime.
func (w *queueWriter) writeAt(dfd int, mtime time.Time) error {
	name := string(w.name)
	fd, err := unix.Openat(dfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return err
	}
	for p := w.buf; len(p) > 0; {
		k, err := unix.Write(fd, p)
		if err != nil {
			unix.Close(fd)
			return err
		}
		p = p[k:]
	}
	ts := unix.NsecToTimespec(mtime.UnixNano())
	w.ts[0], w.ts[1] = ts, ts
	if err := unix.Close(fd); err != nil {
		return err
	}
	return unix.UtimesNanoAt(dfd, name, w.ts, 0)
}

// DeliveredDir is where the simulated job controller puts the messages it
// delivers (the recipients' side, kept so tests can tell a delivered
// message from a lost one): ROOT/.msguard-sim/delivered/<channel>/...
func DeliveredDir(p sim.Paths) string { return filepath.Join(p.StateDir(), "delivered") }

// DeliverQueue is the simulated job controller's work: every message of
// the queue below p.Queue() that is neither held (.HELD) nor temporary
// ("$"-prefixed) nor accepted over SMTP (IsSubmittedQueueFile: those go
// into the store, DeliverSubmitted) moves to the same relative path below
// DeliveredDir(p). It
// streams: each directory is read a batch of entries at a time and each
// message moved as it is read, so a backlog of millions costs no more
// memory than a batch; it stops between two messages when ctx ends. A
// directory is read again until a pass moves nothing (entries renamed away
// while a directory is read must not hide others). It returns how many
// messages it delivered.
func DeliverQueue(ctx context.Context, p sim.Paths) (int, error) {
	d := deliverer{ctx: ctx, queue: p.Queue(), sink: DeliveredDir(p)}
	err := d.dir(d.queue)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(d.queue); errors.Is(serr, fs.ErrNotExist) {
			return d.n, nil // no queue: nothing to deliver
		}
	}
	return d.n, err
}

// deliverer is one DeliverQueue run.
type deliverer struct {
	ctx         context.Context
	queue, sink string
	n           int
}

// deliverBatch is how many directory entries DeliverQueue reads at a time.
const deliverBatch = 512

// dir delivers the messages of dir, then of the directories below it.
func (d *deliverer) dir(dir string) error {
	moved, subdirs, err := d.pass(dir)
	for err == nil && moved > 0 {
		moved, _, err = d.pass(dir)
	}
	if err != nil {
		return err
	}
	for _, sub := range subdirs {
		if err := d.dir(sub); err != nil {
			return err
		}
	}
	return nil
}

// pass reads dir once, moving each message as it is read; it returns how
// many it moved and the subdirectories it saw.
func (d *deliverer) pass(dir string) (moved int, subdirs []string, err error) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, nil, err
	}
	defer f.Close()
	rel, err := filepath.Rel(d.queue, dir)
	if err != nil {
		return 0, nil, err
	}
	sinkDir, made := filepath.Join(d.sink, rel), false
	for {
		ents, rerr := f.ReadDir(deliverBatch)
		for _, e := range ents {
			if err := d.ctx.Err(); err != nil {
				return moved, nil, err
			}
			name := e.Name()
			switch {
			case e.IsDir():
				subdirs = append(subdirs, filepath.Join(dir, name))
				continue
			case rel == "." || !e.Type().IsRegular() || strings.HasPrefix(name, "$") || strings.HasSuffix(name, ".HELD"):
				continue // files directly in the queue directory belong to no channel
			case IsSubmittedQueueFile(name):
				continue // accepted over SMTP: the job controller delivers it into the store (DeliverSubmitted)
			}
			if !made {
				if err := os.MkdirAll(sinkDir, 0o700); err != nil {
					return moved, nil, err
				}
				made = true
			}
			if err := os.Rename(filepath.Join(dir, name), filepath.Join(sinkDir, name)); err != nil {
				return moved, nil, fmt.Errorf("deliver %s: %w", filepath.Join(rel, name), err)
			}
			moved++
			d.n++
		}
		if rerr == io.EOF || (rerr == nil && len(ents) == 0) {
			return moved, subdirs, nil
		}
		if rerr != nil {
			return moved, nil, rerr
		}
	}
}
