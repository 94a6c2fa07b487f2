package sim

import (
	"bytes"
	"io"
	"path/filepath"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Paths are the well-known locations of a simulated server root (layout.md).
type Paths struct {
	Root, WSRoot, Instance string
}

// PathsOf returns the paths of a scenario.
func PathsOf(s *Scenario) Paths {
	return Paths{Root: s.Root, WSRoot: s.WebServerRoot, Instance: s.Instance}
}

// Inst is ROOT/msg-<instance>.
func (p Paths) Inst() string { return filepath.Join(p.Root, "msg-"+p.Instance) }

// Slapd is ROOT/slapd-<id>.
func (p Paths) Slapd(id string) string { return filepath.Join(p.Root, "slapd-"+id) }

// InstallInf is ROOT/setup/install.inf.
func (p Paths) InstallInf() string { return filepath.Join(p.Root, "setup", "install.inf") }

// Queue is INST/imta/queue.
func (p Paths) Queue() string { return filepath.Join(p.Inst(), "imta", "queue") }

// Store is INST/store/partition/primary.
func (p Paths) Store() string { return filepath.Join(p.Inst(), "store", "partition", "primary") }

// MailLog is INST/log/imta/mail.log_current.
func (p Paths) MailLog() string { return filepath.Join(p.Inst(), "log", "imta", "mail.log_current") }

// MsgLib is ROOT/bin/msg/lib, where the messaging daemons live.
func (p Paths) MsgLib() string { return filepath.Join(p.Root, "bin", "msg", "lib") }

// NsSlapd is ROOT/bin/slapd/server/ns-slapd.
func (p Paths) NsSlapd() string { return filepath.Join(p.Root, "bin", "slapd", "server", "ns-slapd") }

// NsHttpd is WSROOT/bin/https/bin/ns-httpd (also the Admin Server daemon under ROOT).
func (p Paths) NsHttpd() string { return filepath.Join(p.WSRoot, "bin", "https", "bin", "ns-httpd") }

// AdminNsHttpd is ROOT/bin/https/bin/ns-httpd, the Admin Server's daemon.
func (p Paths) AdminNsHttpd() string { return filepath.Join(p.Root, "bin", "https", "bin", "ns-httpd") }

// SimBinary is the copy of msguard-sim inside the root that every script
// and daemon of the simulated install runs (a multi-call binary).
func (p Paths) SimBinary() string { return filepath.Join(p.Root, "bin", "sim", "msguard-sim") }

// StateDir is ROOT/.msguard-sim: the simulator's own state. Collectors
// never read it; it travels with the root in backups, as version data
// inside real binaries would.
func (p Paths) StateDir() string { return filepath.Join(p.Root, ".msguard-sim") }

// StateFile is the simulator's state document.
func (p Paths) StateFile() string { return filepath.Join(p.StateDir(), "state.json") }

// ClusterBin is where the cluster CLIs of an HA scenario are written;
// tests and the demo put it on PATH.
func (p Paths) ClusterBin() string { return filepath.Join(p.StateDir(), "cluster-bin") }

// HAMonitor is the cluster monitor of an HA host, a hard link of the
// simulator binary in ClusterBin() that procs.Start runs detached (see
// package media).
func (p Paths) HAMonitor() string { return filepath.Join(p.ClusterBin(), "ha-monitor") }

// RunDir holds pid files and daemon logs: ROOT/.msguard-sim/run.
func (p Paths) RunDir() string { return filepath.Join(p.StateDir(), "run") }
