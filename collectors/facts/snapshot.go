// Package facts holds msguard's domain nouns: the versioned host snapshot
// that collectors write and policies read. It imports the standard library
// only, so every other package can depend on it and it depends on none.
package facts

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// SnapshotSchema is the schema identifier of the snapshot JSON document.
// A breaking change to the document needs a new identifier.
const SnapshotSchema = "msguard.snapshot/v1"

// Snapshot is everything msguard knows about one iPlanet host at one time.
// Each collector owns one pointer field; nil means "not collected", and the
// reason is in Collectors[name].Error. Nothing in it is bound to the host
// that took it, so it can be judged anywhere (check --snapshot).
type Snapshot struct {
	Schema        string    `json:"schema"`
	Tool          Tool      `json:"tool"`
	Host          string    `json:"host"`
	ServerRoot    string    `json:"server_root"`
	WebServerRoot string    `json:"webserver_root,omitempty"`
	Instance      string    `json:"instance,omitempty"`
	CollectedAt   time.Time `json:"collected_at"`
	// Root reports whether the collection ran with root privileges; a
	// non-root run collects what it can and says what it could not.
	Root bool `json:"root"`

	// Collectors records, per collector name, how long it took and why it
	// failed, if it did.
	Collectors map[string]CollectorRun `json:"collectors"`

	Install   *Install   `json:"install"`
	Versions  *Versions  `json:"versions"`
	Processes *Processes `json:"processes"`
	Mounts    *Mounts    `json:"mounts"`
	Queue     *Queue     `json:"queue"`
	Store     *Store     `json:"store"`
	Configs   *Configs   `json:"configs"`
	LDAP      *LDAP      `json:"ldap"`
	HA        *HA        `json:"ha"`
	MailLog   *MailLog   `json:"maillog"`
	RunState  *RunState  `json:"run_state"`
	// MailFlow is the mail-flow probe's outcome; absent from snapshots
	// taken before it existed (additive to msguard.snapshot/v1).
	MailFlow *MailFlow `json:"mailflow,omitempty"`
}

// Tool names the program that wrote a document.
type Tool struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

// CollectorRun is the outcome of one collector in one snapshot.
type CollectorRun struct {
	DurationMS float64 `json:"duration_ms"`
	// Error is empty on success. A non-empty error means the collector's
	// facts are missing (nil) or partial, and policies must not read a
	// missing fact as a pass.
	Error string `json:"error,omitempty"`
	// Partial lists what a collector could not read although it produced
	// facts (an unreadable file, a permission denied as non-root).
	Partial []string `json:"partial,omitempty"`
}

// Collector names, used as keys of Snapshot.Collectors and in facts_errors.
const (
	CollectorInstall   = "install"
	CollectorVersions  = "versions"
	CollectorProcesses = "processes"
	CollectorMounts    = "mounts"
	CollectorQueue     = "queue"
	CollectorStore     = "store"
	CollectorConfigs   = "configs"
	CollectorLDAP      = "ldap"
	CollectorHA        = "ha"
	CollectorMailLog   = "maillog"
	CollectorRunState  = "run_state"
	CollectorMailFlow  = "mailflow"
)

// Family is one fact family of a snapshot: the collector that owns it
// and the field it fills. Families is the one list of them; the collector
// names (AllCollectors), which facts are missing (policies) and which
// field a collector's run fills (collectors) all derive from it.
type Family struct {
	Name string
	// Present reports whether s holds the family's facts.
	Present func(s *Snapshot) bool
	// Take copies the family's field from src into dst.
	Take func(dst, src *Snapshot)
}

// Families lists every fact family in a stable order, install first (its
// collector resolves the target the others read).
var Families = []Family{
	{CollectorInstall, func(s *Snapshot) bool { return s.Install != nil }, func(d, s *Snapshot) { d.Install = s.Install }},
	{CollectorVersions, func(s *Snapshot) bool { return s.Versions != nil }, func(d, s *Snapshot) { d.Versions = s.Versions }},
	{CollectorProcesses, func(s *Snapshot) bool { return s.Processes != nil }, func(d, s *Snapshot) { d.Processes = s.Processes }},
	{CollectorMounts, func(s *Snapshot) bool { return s.Mounts != nil }, func(d, s *Snapshot) { d.Mounts = s.Mounts }},
	{CollectorQueue, func(s *Snapshot) bool { return s.Queue != nil }, func(d, s *Snapshot) { d.Queue = s.Queue }},
	{CollectorStore, func(s *Snapshot) bool { return s.Store != nil }, func(d, s *Snapshot) { d.Store = s.Store }},
	{CollectorConfigs, func(s *Snapshot) bool { return s.Configs != nil }, func(d, s *Snapshot) { d.Configs = s.Configs }},
	{CollectorLDAP, func(s *Snapshot) bool { return s.LDAP != nil }, func(d, s *Snapshot) { d.LDAP = s.LDAP }},
	{CollectorHA, func(s *Snapshot) bool { return s.HA != nil }, func(d, s *Snapshot) { d.HA = s.HA }},
	{CollectorMailLog, func(s *Snapshot) bool { return s.MailLog != nil }, func(d, s *Snapshot) { d.MailLog = s.MailLog }},
	{CollectorRunState, func(s *Snapshot) bool { return s.RunState != nil }, func(d, s *Snapshot) { d.RunState = s.RunState }},
	{CollectorMailFlow, func(s *Snapshot) bool { return s.MailFlow != nil }, func(d, s *Snapshot) { d.MailFlow = s.MailFlow }},
}

// AllCollectors lists every collector name in a stable order (Families').
var AllCollectors = func() []string {
	out := make([]string, len(Families))
	for i, f := range Families {
		out[i] = f.Name
	}
	return out
}()

// FamilyOf returns the family a collector fills.
func FamilyOf(name string) (Family, bool) {
	for _, f := range Families {
		if f.Name == name {
			return f, true
		}
	}
	return Family{}, false
}

// FactsError is one collector failure, as reports list it.
type FactsError struct {
	Collector string `json:"collector"`
	Error     string `json:"error"`
}

// Errors returns the collectors' failures sorted by collector name.
func (s *Snapshot) Errors() []FactsError {
	var out []FactsError
	for name, run := range s.Collectors {
		if run.Error != "" {
			out = append(out, FactsError{Collector: name, Error: run.Error})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Collector < out[j].Collector })
	return out
}

// Encode writes the snapshot as indented JSON.
func (s *Snapshot) Encode(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// DecodeSnapshot reads a snapshot and rejects documents of another schema.
func DecodeSnapshot(r io.Reader) (*Snapshot, error) {
	var s Snapshot
	dec := json.NewDecoder(r)
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("decode snapshot: %w", err)
	}
	if s.Schema != SnapshotSchema {
		return nil, fmt.Errorf("snapshot schema %q is not %q", s.Schema, SnapshotSchema)
	}
	if s.Collectors == nil {
		s.Collectors = map[string]CollectorRun{}
	}
	return &s, nil
}
