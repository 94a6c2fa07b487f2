package collectors

import (
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/parse"
	"github.com/msguard/msguard/internal/mountinfo"
)

// This file exports the pure logic of the live collectors for the
// ingester of the collector script's bundle (package collectors/script),
// so that a snapshot built from a bundle is decided by the same code as
// one collected live.

// ErrConfigNotFound is the Error of a configuration file that does not exist.
const ErrConfigNotFound = errNotFound

// RedactINF copies an .inf map with every secret value replaced.
func RedactINF(inf map[string]map[string]string) map[string]map[string]string { return redactINF(inf) }

// RedactValues copies a flat configuration map with secret values replaced.
func RedactValues(m map[string]string) map[string]string { return redactValues(m) }

// INFValue looks a key up in an .inf map, section and key case-insensitive.
func INFValue(inf map[string]map[string]string, section, key string) string {
	return infValue(inf, section, key)
}

// NormaliseHosts lower-cases, de-duplicates and sorts host names.
func NormaliseHosts(in []string) []string { return normaliseHosts(in) }

// SameMachine reports whether install.inf's FullMachineName names one of hosts.
func SameMachine(full string, hosts []string) bool { return sameMachine(full, hosts) }

// IsBackupDirName reports whether name is a backup.<YYYYMMDDhhmmss> directory.
func IsBackupDirName(name string) bool { return backupDirRe.MatchString(name) }

// FlatDispatcher parses dispatcher.cnf or job_controller.cnf into flat keys.
func FlatDispatcher(r io.Reader) (map[string]string, error) { return flatDispatcher(r) }

// FirstPort returns the first TCP port number of a port list value.
func FirstPort(v string) (int, bool) { return firstPort(v) }

// ConfValue returns key from the first of the maps that has it.
func ConfValue(key string, maps ...map[string]string) string { return confValue(key, maps...) }

// FoldValue looks key up in m ignoring case.
func FoldValue(m map[string]string, key string) string { return foldValue(m, key) }

// RelName names a file by its slash-separated path relative to root.
func RelName(root, path string) string { return relName(root, path) }

// MsgVersionSource is a Messaging Server version source read from a banner line.
func MsgVersionSource(name, raw string) facts.VersionSource {
	src := facts.VersionSource{Source: name}
	msgDetail(&src, raw)
	return src
}

// SettleVersion decides a product's version from its sources.
func SettleVersion(srcs []facts.VersionSource, installed bool) facts.ProductVersion {
	return settle(srcs, installed)
}

// DSVersionSource is the `ns-slapd -v` source from the command's output
// and error (as collected live).
func DSVersionSource(out string, err error) facts.VersionSource {
	src := facts.VersionSource{Source: "ns-slapd -v"}
	lines := nonEmptyLines(out)
	for i, line := range lines {
		dv, ok := parse.DSVersionLine(line)
		if !ok {
			continue
		}
		src.Raw, src.Version, src.Foreign = clip(line), dv.Version, dv.Foreign
		d := map[string]string{"vendor": dv.Vendor, "build": dv.Build}
		if i > 0 {
			d["vendor_line"] = clip(lines[i-1])
		}
		src.Detail = nonEmpty(d)
		return src
	}
	if err != nil {
		src.Error = err.Error()
		return src
	}
	src.Raw = clip(strings.Join(lines, " / "))
	src.Error = "no Directory Server version in the output"
	return src
}

// INFVersionSource is a version source read from an .inf file (slapd.inf,
// nda.inf): section's Version, with its build and vendor.
func INFVersionSource(name, section string, m map[string]map[string]string, err error) facts.VersionSource {
	src := facts.VersionSource{Source: name}
	ver := infValue(m, section, "Version")
	switch {
	case err != nil:
		src.Error = err.Error()
	case ver == "":
		src.Error = name + " has no [" + section + "] Version"
	default:
		src.Raw, src.Version = clip("Version= "+ver), ver
		d := map[string]string{"vendor": infValue(m, section, "Vendor")}
		if section == "slapd" {
			d["build"] = infValue(m, section, "BuildNumber")
		}
		src.Detail = nonEmpty(d)
	}
	return src
}

// WebVersionSource is the `ns-httpd -v` source from the command's output
// and error.
func WebVersionSource(out string, err error) facts.VersionSource {
	src := facts.VersionSource{Source: "ns-httpd -v"}
	if wv, ok := parse.WebServerBanner(out); ok {
		src.Raw, src.Version = clip(bannerLine(out, wv.Product)), wv.Version
		src.Detail = map[string]string{"product": wv.Product}
	} else if err != nil {
		src.Error = err.Error()
	} else {
		src.Raw = clip(strings.Join(nonEmptyLines(out), " / "))
		src.Error = "no Web Server version in the output"
	}
	return src
}

// DAFileSource reads a Delegated Administrator version from the content
// of a Web Server configuration file (rel names it); false when it names
// no Delegated Administrator.
func DAFileSource(name, rel string, data []byte) (facts.VersionSource, bool) {
	src := facts.VersionSource{Source: name, Detail: map[string]string{"file": rel}}
	for _, re := range []*regexp.Regexp{daInitArgRe, daCommentRe} {
		if m := re.FindSubmatchIndex(data); m != nil {
			src.Version = string(data[m[2]:m[3]])
			src.Raw = clip("version=" + src.Version)
			return src, true
		}
	}
	if !bytes.Contains(bytes.ToLower(data), []byte("nda")) {
		return facts.VersionSource{}, false
	}
	i := strings.LastIndexByte(rel, '/')
	src.Error = "no Delegated Administrator version in " + rel[i+1:]
	return src, true
}

// FirstLine is the first non-blank line of s, trimmed.
func FirstLine(s string) string { return firstLine(s) }

// ProcessInfo is what is known about one process of the host before
// deciding whether it belongs to the install.
type ProcessInfo struct {
	PID    int32
	Name   string // comm, or argv[0]'s base name
	Exe    string
	ExeErr error
	Argv   []string
	Zombie bool
}

// Process ownership, as ClassifyProcess reports it.
const (
	ProcessOther      = int(procOther)
	ProcessOurs       = int(procOurs)
	ProcessUnreadable = int(procUnreadable)
)

// ClassifyProcess decides whether p belongs to the install under root
// and wsRoot (instance is the messaging instance name) and fills Exe,
// Daemon and Role, as the processes collector does.
func ClassifyProcess(root, wsRoot, instance string, p ProcessInfo) (facts.Process, int) {
	r := installRoots{root: root, wsRoot: wsRoot, instance: instance}
	fp, owner := r.classify(procInfo{pid: p.PID, name: p.Name, exe: p.Exe, exeErr: p.ExeErr, argv: p.Argv, zombie: p.Zombie})
	return fp, int(owner)
}

// MountEntry is one mounted filesystem.
type MountEntry = mountinfo.Entry

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

// LDAPTarget is the directory the ldap collector asks.
type LDAPTarget struct {
	Scheme, Host, HostPort, Suffix, BindDN string
	// URL is the URL as facts report it.
	URL string
}

// ResolveLDAPTarget picks the directory URL, suffix and bind DN of t.
func ResolveLDAPTarget(t *Target) (LDAPTarget, error) {
	lt, err := resolveLDAPTarget(t)
	if err != nil {
		return LDAPTarget{}, err
	}
	return LDAPTarget{Scheme: lt.scheme, Host: lt.host, HostPort: lt.hostPort, Suffix: lt.suffix, BindDN: lt.bindDN, URL: lt.String()}, nil
}

// SchemaHasObjectClass reports whether an objectClasses definition is named name.
func SchemaHasObjectClass(defs []string, name string) bool { return schemaHasObjectClass(defs, name) }

// HAServices parses a cluster CLI's output into HA.Services: kind is
// HASC22 (hareg), HAVCS (hagrp -state) or HASC3 (scstat -g).
func HAServices(kind, out string) map[string]string {
	switch kind {
	case HASC22:
		return parseHareg(out)
	case HAVCS:
		return parseGroupStates(out, parseVCSStateLine)
	case HASC3:
		return parseGroupStates(out, parseSC3Line)
	}
	return nil
}

// HADependencies parses `hares -dep` into sorted "parent -> child" links.
func HADependencies(out string) []string { return parseVCSDeps(out) }

// HARawLimit bounds the command output kept in HA.Raw.
const HARawLimit = haRawLimit

// VCSGroup is the VCS service group of the Messaging Server.
const VCSGroup = vcsGroup
