package runstate

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

func TestRunStateRoundTrip(t *testing.T) {
	const root = "/usr/iplanet/server5"
	failedAt := time.Date(2002, 6, 1, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name     string
		st       facts.RunState
		want     facts.RunState
		wantKeys []string
	}{
		{
			name:     "in progress, root filled in",
			st:       facts.RunState{Status: StatusInProgress, JournalDir: "/j/r1", LastStep: "backup.copy"},
			want:     facts.RunState{Root: root, Status: "in_progress", JournalDir: "/j/r1", LastStep: "backup.copy"},
			wantKeys: []string{"journal_dir", "last_step", "root", "status"},
		},
		{
			name: "failed",
			st: facts.RunState{Root: root, Status: StatusFailed, JournalDir: "/j/r1",
				LastStep: "msg.setup", FailedAt: &failedAt, Reason: "setup -k exited 1"},
			want: facts.RunState{Root: root, Status: "failed", JournalDir: "/j/r1",
				LastStep: "msg.setup", FailedAt: &failedAt, Reason: "setup -k exited 1"},
			wantKeys: []string{"failed_at", "journal_dir", "last_step", "reason", "root", "status"},
		},
		{
			name:     "completed",
			st:       facts.RunState{Status: StatusCompleted},
			want:     facts.RunState{Root: root, Status: "completed"},
			wantKeys: []string{"root", "status"},
		},
		{
			name:     "backed out",
			st:       facts.RunState{Status: StatusBackedOut},
			want:     facts.RunState{Root: root, Status: "backed_out"},
			wantKeys: []string{"root", "status"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := filepath.Join(t.TempDir(), "state")
			if got, err := Read(stateDir, root); err != nil || got.Status != "none" {
				t.Fatalf("Read before any write = %+v, %v; want status none", got, err)
			}
			if err := Write(stateDir, root, tt.st); err != nil {
				t.Fatalf("Write: %v", err)
			}
			got, err := Read(stateDir, root)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Read = %+v, want %+v", got, tt.want)
			}
			path := Path(stateDir, root)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatalf("state file is not JSON: %v", err)
			}
			var keys []string
			for k := range m {
				keys = append(keys, k)
			}
			if slices.Sort(keys); !reflect.DeepEqual(keys, tt.wantKeys) {
				t.Errorf("state file keys %v, want %v", keys, tt.wantKeys)
			}
			for p, mode := range map[string]os.FileMode{
				path: 0o600, filepath.Dir(path): 0o700 | os.ModeDir,
				filepath.Dir(filepath.Dir(path)): 0o700 | os.ModeDir,
			} {
				if fi, err := os.Stat(p); err != nil || fi.Mode() != mode {
					t.Errorf("%s: mode %v, %v; want %v", p, fi.Mode(), err, mode)
				}
			}
			entries, _ := os.ReadDir(filepath.Dir(path))
			if len(entries) != 1 {
				t.Errorf("state directory holds %d entries, want only state.json", len(entries))
			}
		})
	}
}

func TestWriteRunStateErrors(t *testing.T) {
	const root = "/usr/iplanet/server5"
	tests := []struct {
		name    string
		st      facts.RunState
		wantErr string
	}{
		{"empty status", facts.RunState{}, `unknown status ""`},
		{"unknown status", facts.RunState{Status: "exploded"}, `unknown status "exploded"`},
		{"other root", facts.RunState{Root: "/opt/other", Status: "failed"}, "state is for server root /opt/other, not " + root},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := t.TempDir()
			err := Write(stateDir, root, tt.st)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Write error %v; want %q", err, tt.wantErr)
			}
			if _, err := os.Stat(Path(stateDir, root)); !os.IsNotExist(err) {
				t.Errorf("a refused state was written (stat: %v)", err)
			}
		})
	}
}

func TestReadRunStateErrors(t *testing.T) {
	const root = "/usr/iplanet/server5"
	tests := []struct {
		name    string
		content string
		wantErr string
	}{
		{"not json", "{", "parse run state"},
		{"unknown status", `{"status":"exploded"}`, `unknown status "exploded"`},
		{"other root", `{"root":"/opt/other","status":"failed"}`, "is for server root /opt/other, not " + root},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := t.TempDir()
			path := Path(stateDir, root)
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Read(stateDir, root)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), path) {
				t.Fatalf("Read error %v; want %q naming %s", err, tt.wantErr, path)
			}
		})
	}
}

func TestPath(t *testing.T) {
	a := Path("/state", "/usr/iplanet/server5")
	if !strings.HasPrefix(a, "/state/roots/") || filepath.Base(a) != "state.json" || len(filepath.Base(filepath.Dir(a))) != 16 {
		t.Errorf("Path = %q; want /state/roots/<16 hex>/state.json", a)
	}
	if b := Path("/state", "/usr/iplanet/server6"); b == a {
		t.Errorf("two roots share %q", a)
	}
	if got := Path("", "/usr/iplanet/server5"); !strings.HasPrefix(got, DefaultStateDir+"/roots/") {
		t.Errorf("Path default = %q", got)
	}
}
