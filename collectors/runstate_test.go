package collectors

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/runstate"
)

func TestCollectRunState(t *testing.T) {
	failedAt := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		content string // "" = no file
		want    facts.RunState
		wantErr string
	}{
		{name: "no state", want: facts.RunState{Status: "none"}},
		{
			name: "failed run",
			content: `{"root":"@ROOT@","status":"failed","journal_dir":"/j/1","last_step":"msg.setup",` +
				`"failed_at":"2024-05-01T12:00:00Z","reason":"setup exited 1"}`,
			want: facts.RunState{Root: "@ROOT@", Status: "failed", JournalDir: "/j/1", LastStep: "msg.setup",
				FailedAt: &failedAt, Reason: "setup exited 1"},
		},
		{name: "in progress", content: `{"status":"in_progress","last_step":"backup.copy"}`,
			want: facts.RunState{Status: "in_progress", LastStep: "backup.copy"}},
		{name: "unknown status", content: `{"status":"weird"}`, wantErr: `unknown status "weird"`},
		{name: "not json", content: `{`, wantErr: "parse run state"},
		{name: "another root", content: `{"root":"/elsewhere","status":"completed"}`, wantErr: "is for server root /elsewhere"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newRoot(t).standard()
			stateDir := filepath.Join(t.TempDir(), "state")
			target := resolve(t, Options{ServerRoot: b.root, StateDir: stateDir})
			if tt.content != "" {
				p := runstate.Path(stateDir, target.Root)
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.ReplaceAll(tt.content, "@ROOT@", target.Root)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s := &facts.Snapshot{}
			_, err := collectRunState(context.Background(), target, s)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || s.RunState != nil {
					t.Fatalf("err = %v, facts %v; want %q", err, s.RunState, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := *s.RunState
			want := tt.want
			want.Root = strings.ReplaceAll(want.Root, "@ROOT@", target.Root)
			if (got.FailedAt == nil) != (want.FailedAt == nil) || (got.FailedAt != nil && !got.FailedAt.Equal(*want.FailedAt)) {
				t.Errorf("FailedAt = %v; want %v", got.FailedAt, want.FailedAt)
			}
			got.FailedAt, want.FailedAt = nil, nil
			if got != want {
				t.Errorf("RunState = %+v; want %+v", got, want)
			}
		})
	}
}
