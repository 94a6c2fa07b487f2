package collectors

import (
	"context"
	"errors"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/ldapdial"
	"github.com/msguard/msguard/internal/mountinfo"
)

// Host is where the collectors read their raw material: the machine
// msguard runs on (LiveHost), or what the collector script shipped from
// one (package script reads a bundle into a Host). Every collector is
// written once, against Host: what it decides from the material is the
// same on both, so a live snapshot and an ingested bundle of the same host
// can only differ where the material does (the script makes no network
// connection, for one).
//
// Paths are absolute and slash-separated. Errors are worded as the live
// read would word them; what a bundle lacks is an error that matches
// ErrNotGathered.
type Host interface {
	// Kind says what path is, following links.
	Kind(path string) PathKind
	// ReadDir lists a directory: each entry's name and whether it is a
	// directory (links followed), in name order.
	ReadDir(dir string) ([]DirEntry, error)
	// ReadFile returns a file of at most maxConfigSize bytes with its
	// SHA-256 as the host computed it ("" when it could not). A missing
	// file's error matches fs.ErrNotExist. A bundle holds configuration
	// files redacted on the host: the digest is of the original.
	ReadFile(path string) (File, error)
	// CompareBackup compares every regular file below backupDir with the
	// file of the same relative name below instDir (collect.sh's section
	// backupdiff), sorted by name; equal files are left out.
	CompareBackup(backupDir, instDir string) []BackupRow
	// LookPath finds an executable named name in the PATH-style list path
	// ("" when there is none).
	LookPath(name, path string) string
	// Run runs a command. err is set only when it could not run to an exit
	// status (missing, killed, timed out, not in the bundle): "EXE not
	// found" (matching ErrCommandNotFound) or "NAME: reason", where NAME is
	// the command's Name.
	Run(ctx context.Context, c Command) (Output, error)
	// Greet connects to addr, reads one greeting line and says bye.
	Greet(ctx context.Context, addr, bye string) (string, error)
	// ServerHeader is the Server header of an HTTP HEAD / at addr.
	ServerHeader(ctx context.Context, addr string) (string, error)
	// HostNames are this host's own names (its name, and those DNS or
	// /etc/hosts give it); NodeName is its uname -n.
	HostNames() []string
	NodeName() string

	// Processes lists the process table. keep decides, from what is known
	// so far, whether a process may be the install's; only those kept are
	// described in full (ProcessInfo's PPID, User, ...). The children of
	// skipParent are left out; partial says what could not be read.
	Processes(ctx context.Context, keep func(ProcessInfo) bool, skipParent int) ([]ProcessInfo, []string, error)
	// Mounts is the mount table; DiskSpace the size and free space of the
	// filesystem holding path (nearest: its nearest existing ancestor).
	Mounts() ([]MountEntry, error)
	// RealPath resolves the links of path (an error matching
	// fs.ErrNotExist when it does not exist).
	RealPath(path string) (string, error)
	DiskSpace(mounts []MountEntry, path string, nearest bool) (facts.DiskSpace, error)
	// ScanQueue and ScanStore summarise the queue directory and the store
	// partition, streamed in bounded memory.
	ScanQueue(ctx context.Context, dir string) (*facts.Queue, []string, error)
	ScanStore(ctx context.Context, dir string) (*facts.Store, []string, error)
	// MailLog reads the MTA log from since on.
	MailLog(ctx context.Context, path string, since time.Time) (*facts.MailLog, error)
	// Directory opens a session with the directory server d names.
	Directory(ctx context.Context, d ldapdial.Target) (DirectorySession, error)
}

// DirectorySession is one conversation with a directory server: what the
// ldap collector reads, each query named so that a bundle can answer it
// from the ldapsearch run of the same name. Errors of the server's own
// answers are *ldap.Error values with the server's result code (32 no such
// object, 49 invalid credentials); others (network, timeouts) are not.
type DirectorySession interface {
	// Probe reads the root DSE anonymously: is anybody there?
	Probe(ctx context.Context) error
	// Bind authenticates as dn.
	Bind(ctx context.Context, dn, password string) error
	// Read returns the attributes (names lower-cased) of the entry q.DN.
	Read(ctx context.Context, q Query) (map[string][]string, error)
	// Each hands the DN of every entry of a subtree search to fn, a page
	// at a time.
	Each(ctx context.Context, q Query, fn func(dn string)) error
	Close()
}

// Query is one directory search: Name keys it in a bundle ("rootdse",
// "monitor", "schema", "pab", "recipients", "pabentries").
type Query struct {
	Name, DN, Filter string
	Attrs            []string
}

// MountEntry is one mounted filesystem.
type MountEntry = mountinfo.Entry

// ErrNotGathered is matched by the errors of material a bundle does not
// hold.
var ErrNotGathered = errors.New("not gathered by the collector script")

// ErrCommandNotFound is matched by Run's error for a missing executable.
var ErrCommandNotFound = errors.New("command not found")

// PathKind is what a path is on the host.
type PathKind int

// The kinds of path.
const (
	PathMissing    PathKind = iota // does not exist
	PathDir                        // a directory
	PathFile                       // a regular file
	PathOther                      // anything else (a device, a socket)
	PathUnreadable                 // exists, but cannot be examined
	PathUnknown                    // the bundle does not say
)

// DirEntry is one entry of a directory listing.
type DirEntry struct {
	Name string
	Dir  bool
}

// File is a file's content and digest.
type File struct {
	Data   []byte
	SHA256 string
}

// BackupRow is one file of a backup.<timestamp> directory that differs
// from the file in place: Rel its slash path below the backup directory,
// State one of "absent", "binary", "text", "unreadable"; for
// "unreadable", Err says which side could not be read.
type BackupRow struct {
	Rel, State, Err string
}

// Command is a command for Host.Run.
type Command struct {
	Exe  string
	Args []string
	// Path is the PATH the command runs with ("" = the environment's).
	Path string
	// Merge sends standard error into Stdout, in the order written.
	Merge bool
	// Group runs it in a process group of its own, all killed on timeout.
	Group   bool
	Timeout time.Duration
	// Dir is the working directory ("" = the executable's).
	Dir string
}

// Name is how the command is named in errors and bundles:
// "imsimta version", "hagrp -state iMS5".
func (c Command) Name() string {
	n := baseName(c.Exe)
	for _, a := range c.Args {
		n += " " + a
	}
	return n
}

// Output is what a command printed and its exit status.
type Output struct {
	Stdout, Stderr string
	RC             int
}

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
