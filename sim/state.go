package sim

import (
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/internal/atomicfile"
	"os"
)

// State is the simulator's record of a created host: the scenario as
// resolved (ports picked, defaults applied) and what has changed since
// (versions after an installer ran, cluster state, loop device).
type State struct {
	Scenario Scenario `json:"scenario"`
	// Current product versions; the installers update them.
	MsgVersion string `json:"msg_version"`
	DSVersion  string `json:"ds_version"`
	// DSInstanceVersions is the version of each slapd instance (by id):
	// setup -k upgrades the shared binaries and only the instance it is
	// started from. An instance missing here is at DSVersion.
	DSInstanceVersions map[string]string `json:"ds_instance_versions,omitempty"`
	WebServer          string            `json:"webserver"`
	DA                 string            `json:"da"`
	// Cluster is the cluster CLIs' state: service/group/resource → state,
	// plus "dep:<parent>-><child>" links for VCS.
	Cluster map[string]string `json:"cluster,omitempty"`
	// LoopDevice and StoreImage are set when the store is a loop mount.
	LoopDevice string `json:"loop_device,omitempty"`
	StoreImage string `json:"store_image,omitempty"`
	// DirectoryDirs lists directories outside the root that the directory
	// backend created (389-ds instance dirs) so destroy can remove them.
	DirectoryDirs []string `json:"directory_dirs,omitempty"`
}

// LoadState reads ROOT/.msguard-sim/state.json.
func LoadState(root string) (*State, error) {
	p := Paths{Root: root}
	b, err := os.ReadFile(p.StateFile())
	if err != nil {
		return nil, fmt.Errorf("read simulator state (is %s a msguard-sim root?): %w", root, err)
	}
	var st State
	if err := json.Unmarshal(b, &st); err != nil {
		return nil, fmt.Errorf("parse simulator state %s: %w", p.StateFile(), err)
	}
	return &st, nil
}

// Save writes the state atomically (temp file, fsync, rename).
func (st *State) Save() error {
	p := PathsOf(&st.Scenario)
	if err := os.MkdirAll(p.StateDir(), 0o755); err != nil {
		return err
	}
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return WriteFileAtomic(p.StateFile(), b, 0o644)
}

// Paths returns the state's paths.
func (st *State) Paths() Paths { return PathsOf(&st.Scenario) }

// WriteFileAtomic writes data to a temp file beside path, syncs it and
// renames it into place, so a reader never sees a half-written file.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) error {
	return atomicfile.Write(path, data, mode)
}

// InstanceDSVersion is the version of the slapd-<id> instance.
func (st *State) InstanceDSVersion(id string) string {
	if v := st.DSInstanceVersions[id]; v != "" {
		return v
	}
	return st.DSVersion
}
