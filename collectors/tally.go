package collectors

import (
	"context"
	"io"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/mountinfo"
)

// The tallies the live reads and the bundle's Host (package
// collectors/script) share, so that the script's listings are summarised
// exactly as the live walks are: the process record, the queue tally, the
// users digest, the MTA log scan and the mount table.

// ProcessInfo is what is known about one process of the host before
// deciding whether it belongs to the install.
type ProcessInfo struct {
	PID    int32
	Name   string // comm, or argv[0]'s base name
	Exe    string
	ExeErr error
	Argv   []string
	Zombie bool
	// What is read only of the processes kept (Host.Processes): the
	// parent, the user, the start time and listening ports (zero when the
	// host cannot tell) and the command line, redacted.
	PPID      int32
	User      string
	Started   time.Time
	Listening []int
	Cmdline   string
}

// ParseMountInfo reads /proc/self/mountinfo lines.
func ParseMountInfo(r io.Reader) ([]MountEntry, error) { return mountinfo.Parse(r) }

// MountFor returns the entry whose mount point is the longest prefix of path.
func MountFor(mounts []MountEntry, path string) (MountEntry, bool) { return mountFor(mounts, path) }

// QueueTally counts queue files per channel exactly as the queue
// collector does, from a listing instead of the directory itself.
type QueueTally struct {
	names []string
	v     *queueVisitor
}

// NewQueueTally counts towards the channels names (sorted).
func NewQueueTally(names []string) *QueueTally {
	v := &queueVisitor{channels: make([]*queueCounter, len(names))}
	for i := range names {
		v.channels[i] = &queueCounter{}
	}
	return &QueueTally{names: names, v: v}
}

// Add counts one non-directory file of channel ch.
func (q *QueueTally) Add(ch int, name string, size int64, mtime time.Time) {
	q.v.file(dirTask{owner: ch}, fileStat{name: name, size: size, mtime: mtime.UnixNano()})
}

// Queue is the queue facts for the directory dir.
func (q *QueueTally) Queue(dir string) *facts.Queue {
	out := &facts.Queue{Path: dir, Channels: make([]facts.QueueChannel, len(q.names))}
	for i, n := range q.names {
		out.Channels[i] = facts.QueueChannel{Name: n, QueueCounts: q.v.channels[i].counts()}
	}
	tot := totalOf(q.v.channels)
	out.Total = tot.counts()
	return out
}

// UsersDigest is the hex SHA-256 of the sorted names, one per line.
func UsersDigest(sorted []string) string { return usersDigest(sorted) }

// ScanMailLog summarises an MTA log read from r as the maillog collector
// does; path is the log's name on its host, loc the host's time zone and
// firstLine the number of r's first line in the whole log (1 for the
// whole file).
func ScanMailLog(ctx context.Context, r io.Reader, path string, loc *time.Location, firstLine int64) (*facts.MailLog, error) {
	return tallyMailLog(ctx, r, &facts.MailLog{Path: path, Counts: map[string]int64{}}, loc, time.Time{}, firstLine)
}
