package remediate

import (
	"context"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/remediate/ldapexport"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// Options configure a remediate or backout run. Secrets are plain fields
// here but never logged, journaled or printed.
type Options struct {
	ServerRoot string
	Media      string // the 5.2 installer media directory
	BackupDir  string // "" = DefaultBackupRoot/<root name>-<run id>, or the journal's on resume
	StateDir   string

	LDAP                 ldapexport.Conn // the user/group directory, bound as the directory manager
	AdminID              string          // Configuration Directory Administrator; "" = install.inf's or "admin"
	AdminPassword        string
	ServiceAdminID       string // "" = install.inf's or "ServiceAdmin"
	ServiceAdminPassword string

	Yes    bool // do not ask for confirmation
	Resume bool
	// StopTimeout bounds the wait for processes to exit after a stop script.
	StopTimeout time.Duration
	// DialogueTimeout bounds the silence of an installer waiting for nothing.
	DialogueTimeout time.Duration

	// Collect takes a full snapshot of the host (the collectors).
	Collect func(ctx context.Context) (*facts.Snapshot, error)
	// Gate runs a check phase (preflight with for_remediate, quiesce,
	// postflight) and returns its report; the command prints it.
	Gate func(ctx context.Context, phase string, in GateInput) (*judgement.Report, error)
	// Daemons lists the install's running daemons (the processes collector).
	Daemons func(ctx context.Context) ([]facts.Process, error)
	// ScanQueue reads a queue directory (the queue collector).
	ScanQueue func(ctx context.Context, dir string) (*facts.Queue, error)
	// QueueWatch bounds how long post.queue waits for the backlog to be
	// delivered after the start (0: DefaultQueueWatch).
	QueueWatch time.Duration

	In  io.Reader // confirmation answers
	Out io.Writer // progress for people
	Log *slog.Logger
}

// DefaultQueueWatch is how long post.queue waits for the queue to drain.
const DefaultQueueWatch = 2 * time.Minute

func (o *Options) queueWatch() time.Duration {
	if o.QueueWatch > 0 {
		return o.QueueWatch
	}
	return DefaultQueueWatch
}

// GateInput is what a gate needs to know about the run besides the host.
type GateInput struct {
	Media *MediaInfo
	// BackupNeedBytes is what §2's backups will write (preflight's
	// preflight.disk.backup_space); 0 when not estimated.
	BackupNeedBytes int64
	// RestoreNeedBytes is the room a backout's restore needs in the
	// server root's filesystem (preflight.disk.backup_space too); 0 when
	// not estimated.
	RestoreNeedBytes int64
	// Since is when post.start restarted the servers: mail.log records
	// before it are history, not errors of the upgrade (postflight).
	Since time.Time
}

// manifestLineBytes estimates one line of a backup manifest.
const manifestLineBytes = 256

// fileBlock is the allocation unit a copied file is counted in: a copy of
// a 2 KiB queue message takes a 4 KiB block on ext4 and xfs.
const fileBlock = 4096

// blocks is size rounded up to whole fileBlocks.
func blocks(size int64) int64 { return (size + fileBlock - 1) / fileBlock * fileBlock }

// SpaceNeed estimates the room a run needs on the disks of the host in s.
//
// backup is what §2's backups write to the backup directory: the server
// root without the store (the queue included once: backup.queue saves a
// queue that is not empty, and the server-root backup leaves it out), each
// file in whole 4 KiB blocks as the copy allocates it (hard links once; a
// sparse file by the blocks it has allocated, its holes copied as holes), a
// manifest line per entry, the directory exports (about 2 KiB an entry)
// and 1 MiB for the journal, the transcripts and the saved configurations.
//
// restore is the room a backout's restore needs in the server root's
// filesystem on top of what the upgraded install holds there: the queue,
// which the upgraded MTA delivers after the restart and the restore writes
// back whole, and the largest file of the server root, which the restore
// writes beside the file it replaces before renaming it over (every other
// file it writes replaces one of about its size, or one that the restore
// removed first as the backup does not hold it).
func SpaceNeed(s *facts.Snapshot) (backup, restore int64) {
	if s == nil || s.ServerRoot == "" {
		return 0, 0
	}
	var store, queue string
	if s.Install != nil {
		store = filepath.Clean(s.Install.StorePath)
	}
	if s.Queue != nil && s.Queue.Path != "" {
		queue = filepath.Clean(s.Queue.Path) + string(filepath.Separator)
	}
	seen := map[[2]uint64]bool{}
	var total, entries, largest, queued int64
	filepath.WalkDir(s.ServerRoot, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if p == store {
			return filepath.SkipDir
		}
		entries++
		if !d.Type().IsRegular() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		size := blocks(fi.Size())
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			if st.Nlink > 1 {
				key := [2]uint64{uint64(st.Dev), uint64(st.Ino)}
				if seen[key] {
					return nil
				}
				seen[key] = true
			}
			// A sparse file (a database map) is copied with its holes:
			// it takes what it has allocated, at least a block.
			if alloc := st.Blocks * 512; alloc < size {
				size = max(alloc, min(size, fileBlock))
			}
		}
		total += size
		largest = max(largest, size)
		if queue != "" && strings.HasPrefix(p, queue) {
			queued += size
		}
		return nil
	})
	total += entries * manifestLineBytes
	if l := s.LDAP; l != nil {
		total += (l.MailRecipients + l.PABEntries) * 2048
	}
	return total + 1<<20, queued + largest
}

// DefaultBackupRoot is where backups go when --backup-dir is not given.
const DefaultBackupRoot = "/var/backups/msguard"

// Step is one runbook step on this host: check (already done?), do,
// verify and undo. Every step is idempotent: check lets a resumed run
// skip what was done before a crash.
type Step struct {
	ID       string   `json:"id"`
	Title    string   `json:"title"`
	Commands []string `json:"commands,omitempty"`
	// Skip says why the step is not needed on this host ("" = it runs).
	Skip string `json:"skip,omitempty"`
	// Destructive steps change the install in a way only the backout undoes;
	// backups must be verified before the first one.
	Destructive bool `json:"destructive,omitempty"`
	// Gate names a check phase that must pass before the step runs.
	Gate string `json:"gate,omitempty"`

	check  func(ctx context.Context) (bool, error)
	do     func(ctx context.Context) error
	verify func(ctx context.Context) error
	undo   func(ctx context.Context) error
}

// Plan is the ordered list of steps this host needs.
type Plan struct {
	Root      string    `json:"root"`
	BackupDir string    `json:"backup_dir"`
	RunID     string    `json:"run_id"`
	Host      *HostInfo `json:"host"`
	Steps     []*Step   `json:"steps"`

	planner *planner
}

// HostInfo is what the plan needs to know about the host, taken from the
// pre-upgrade snapshot (saved in the backup directory, so a resumed run
// plans from the same facts even though the host has changed since).
type HostInfo struct {
	Root, WSRoot, Instance, InstDir string
	Host                            string
	SlapdIDs                        []string // ids without "slapd-"
	WebInstances                    []string // https-* other than https-admserv
	HasWebAdmin                     bool
	MsgVersion, DSVersion           string
	WebServer, DA                   string // "" = not installed
	HA                              string
	HADeps                          []string
	QueueMessages                   int64
	StorePath                       string
	StoreMount                      *facts.StoreMount // nil = a plain directory
	ConfigLDAPURL                   string
	ServiceAdminID                  string
	UserSuffix                      string
	// SlapdURLs maps each slapd instance id to the LDAP URL it serves:
	// install.inf's user directory for the instance its [slapd] section
	// names (or the only one), the configuration directory for the other.
	SlapdURLs map[string]string
	// Running are the servers of the install that ran before the upgrade
	// (post.start must leave them running again).
	Running []RunningDaemon
	// StoreMailboxes is how many mailboxes the store held before.
	StoreMailboxes int64
	// HANodes are the cluster nodes the pre-upgrade snapshot saw.
	HANodes []string
}

// RunningDaemon is one server process of the install, by role and daemon,
// with the TCP ports it listened on.
type RunningDaemon struct {
	Role   string `json:"role"`
	Daemon string `json:"daemon"`
	Ports  []int  `json:"ports,omitempty"`
}

// MediaInfo describes the installer media found at --media.
type MediaInfo struct {
	Path      string `json:"path"`
	Version   string `json:"version"` // "5.2" when msg52/setup is there
	WebServer bool   `json:"webserver"`
	DA        bool   `json:"da"`
	SCIMS     bool   `json:"scims"`
	Error     string `json:"error,omitempty"`
}

// InspectMedia reads the media directory (layout.md "Installer dialogues").
func InspectMedia(dir string) *MediaInfo {
	if dir == "" {
		return nil
	}
	// Absolute: installers run with their own directory as working
	// directory, where a relative media path would no longer resolve.
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	m := &MediaInfo{Path: dir}
	exists := func(p ...string) bool {
		_, err := os.Stat(filepath.Join(append([]string{dir}, p...)...))
		return err == nil
	}
	switch {
	case !exists():
		m.Error = "directory does not exist"
	case !exists("msg52", "setup"):
		m.Error = "no msg52/setup"
	default:
		m.Version = "5.2"
		if b, err := os.ReadFile(filepath.Join(dir, "msg52", "VERSION")); err == nil && !strings.Contains(string(b), "5.2") {
			m.Version, m.Error = "", "msg52/VERSION does not name 5.2"
		}
	}
	m.WebServer = exists("ws60sp2", "setup")
	m.DA = exists("da12", "setup") && exists("da12", "uninstall")
	m.SCIMS = exists("msg52", "SUNWscims")
	return m
}

// HostFromSnapshot extracts the plan's view of the host.
func HostFromSnapshot(s *facts.Snapshot) (*HostInfo, error) {
	if s == nil || s.Install == nil || !s.Install.Valid {
		return nil, fmt.Errorf("the snapshot has no valid install: run msguard check --phase preflight")
	}
	if s.Versions == nil || s.Mounts == nil || s.Queue == nil {
		return nil, fmt.Errorf("the snapshot lacks versions, mounts or queue facts: see its collector errors")
	}
	h := &HostInfo{
		Root: s.ServerRoot, WSRoot: s.WebServerRoot, Instance: s.Instance, Host: s.Host,
		InstDir:    filepath.Join(s.ServerRoot, "msg-"+s.Instance),
		MsgVersion: s.Versions.Messaging.Version, DSVersion: s.Versions.Directory.Version,
		StorePath: s.Install.StorePath, QueueMessages: s.Queue.Total.Messages + s.Queue.Total.Temp,
		UserSuffix: "o=siroe.com", ServiceAdminID: "ServiceAdmin",
	}
	for _, id := range s.Install.SlapdInstances {
		h.SlapdIDs = append(h.SlapdIDs, strings.TrimPrefix(id, "slapd-"))
	}
	for _, w := range s.Install.HTTPSInstances {
		if w == "https-admserv" {
			h.HasWebAdmin = true
		} else {
			h.WebInstances = append(h.WebInstances, w)
		}
	}
	if s.Versions.WebServer.Installed {
		h.WebServer = s.Versions.WebServer.Version
	}
	if s.Versions.DelegatedAdmin.Installed {
		h.DA = s.Versions.DelegatedAdmin.Version
	}
	if s.HA != nil {
		h.HA, h.HADeps = s.HA.Kind, s.HA.Dependencies
		for _, n := range s.HA.Nodes {
			h.HANodes = append(h.HANodes, n.Name)
		}
	}
	if s.Mounts.Store.MountPoint {
		m := s.Mounts.Store
		h.StoreMount = &m
	}
	if inf := s.Install.InstallInf; inf != nil {
		h.ConfigLDAPURL = inf["General"]["ConfigDirectoryLdapURL"]
		if id := inf["msg"]["ServiceAdminID"]; id != "" {
			h.ServiceAdminID = id
		}
	}
	if s.LDAP != nil && s.LDAP.UserSuffix != "" {
		h.UserSuffix = s.LDAP.UserSuffix
	}
	if h.WSRoot == "" {
		h.WSRoot = h.Root
	}
	h.SlapdURLs = slapdURLs(h, s)
	if s.Processes != nil {
		at := map[string]int{}
		for _, pr := range s.Processes.Daemons {
			k := pr.Role + "/" + pr.Daemon
			if pr.Role == "" {
				continue
			}
			i, seen := at[k]
			if !seen {
				i = len(h.Running)
				at[k] = i
				h.Running = append(h.Running, RunningDaemon{Role: pr.Role, Daemon: pr.Daemon})
			}
			for _, port := range pr.Listening {
				if !slices.Contains(h.Running[i].Ports, port) {
					h.Running[i].Ports = append(h.Running[i].Ports, port)
				}
			}
		}
	}
	if s.Store != nil {
		h.StoreMailboxes = s.Store.Mailboxes
	}
	return h, nil
}

// slapdURLs pairs the root's slapd instances with the directory URLs of
// install.inf (without their base DN).
func slapdURLs(h *HostInfo, s *facts.Snapshot) map[string]string {
	user := ""
	if s.LDAP != nil {
		user = s.LDAP.URL
	}
	var named string
	if inf := s.Install.InstallInf; inf != nil {
		if user == "" {
			user = inf["General"]["UserDirectoryLdapURL"]
		}
		named = inf["slapd"]["ServerIdentifier"]
	}
	out := map[string]string{}
	for _, id := range h.SlapdIDs {
		switch {
		case len(h.SlapdIDs) == 1 || id == named:
			out[id] = serverURL(user)
		case h.ConfigLDAPURL != "":
			out[id] = serverURL(h.ConfigLDAPURL)
		}
	}
	return out
}

// dsNeedsUpgrade is true when the local Directory Server is older than the
// 4.16 that Messaging Server 5.2 ships with (runbook §3).
func (h *HostInfo) dsNeedsUpgrade() bool {
	return len(h.SlapdIDs) > 0 && h.DSVersion != "" && versionLess(h.DSVersion, "4.16")
}

// versionLess compares dotted numeric versions ("4.13" < "4.16").
func versionLess(a, b string) bool {
	pa, pb := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			fmt.Sscanf(pa[i], "%d", &x)
		}
		if i < len(pb) {
			fmt.Sscanf(pb[i], "%d", &y)
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Print writes the plan for people: each step, its commands, and why a
// step is skipped.
func (p *Plan) Print(w io.Writer) {
	fmt.Fprintf(w, "Upgrade plan for %s (Messaging %s, Directory %s) — backups in %s\n",
		p.Root, p.Host.MsgVersion, p.Host.DSVersion, p.BackupDir)
	n := 0
	for _, s := range p.Steps {
		if s.Skip != "" {
			fmt.Fprintf(w, "   -  %-28s skipped: %s\n", s.ID, s.Skip)
			continue
		}
		n++
		mark := ""
		if s.Destructive {
			mark = "  [changes the install]"
		}
		fmt.Fprintf(w, "  %2d. %-28s %s%s\n", n, s.ID, s.Title, mark)
		if s.Gate != "" {
			fmt.Fprintf(w, "        gate: msguard check --phase %s must pass first\n", s.Gate)
		}
		for _, c := range s.Commands {
			fmt.Fprintf(w, "        $ %s\n", c)
		}
	}
}
