package collectors

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// makeMailbox creates =user/<hh>/<hh>/=<uid>/ with files of the given sizes.
func makeMailbox(t testing.TB, part, uid string, sizes ...int) {
	t.Helper()
	dir := filepath.Join(part, "=user", fmt.Sprintf("%02x", len(uid)), fmt.Sprintf("%02x", uid[0]), "="+uid)
	for i, n := range sizes {
		writeQueueFile(t, filepath.Join(dir, "INBOX", "00", fmt.Sprintf("%d.msg", i)), n, time.Time{})
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestCollectStore(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(t *testing.T, part string)
		want      facts.Store
		wantUsers []string
	}{
		{
			name:  "missing partition",
			setup: func(*testing.T, string) {},
			want:  facts.Store{UsersDigest: sha("")},
		},
		{
			name: "three mailboxes",
			setup: func(t *testing.T, part string) {
				makeMailbox(t, part, "marlowe", 10, 20)
				makeMailbox(t, part, "adam", 5)
				makeMailbox(t, part, "zed")
				writeQueueFile(t, filepath.Join(part, "=user", "store.usr"), 3, time.Time{})
				writeQueueFile(t, filepath.Join(part, "mboxlist.db"), 4, time.Time{})
			},
			want:      facts.Store{Exists: true, Mailboxes: 3, Files: 5, Bytes: 42, UsersDigest: sha("adam\nmarlowe\nzed\n")},
			wantUsers: []string{"adam", "marlowe", "zed"},
		},
		{
			name: "users omitted above the limit",
			setup: func(t *testing.T, part string) {
				for i := range StoreUsersLimit + 1 {
					dir := filepath.Join(part, "=user", fmt.Sprintf("%02x", i%256), fmt.Sprintf("%02x", i/256%256), fmt.Sprintf("=u%06d", i))
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
				}
			},
			want: facts.Store{Exists: true, Mailboxes: StoreUsersLimit + 1, UsersDigest: func() string {
				var b strings.Builder
				for i := range StoreUsersLimit + 1 {
					fmt.Fprintf(&b, "u%06d\n", i)
				}
				return sha(b.String())
			}()},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst := t.TempDir()
			part := filepath.Join(inst, "store", "partition", "primary")
			tt.setup(t, part)
			s := &facts.Snapshot{}
			partial, err := collectStore(context.Background(), &Target{InstDir: inst, host: LiveHost{}}, s)
			if err != nil || len(partial) > 0 {
				t.Fatalf("collectStore: partial %v, err %v", partial, err)
			}
			got := *s.Store
			if got.Path != part {
				t.Errorf("path = %q, want %q", got.Path, part)
			}
			if got.Exists != tt.want.Exists || got.Mailboxes != tt.want.Mailboxes || got.Files != tt.want.Files ||
				got.Bytes != tt.want.Bytes || got.UsersDigest != tt.want.UsersDigest {
				t.Errorf("store = %+v, want %+v", got, tt.want)
			}
			if !slices.Equal(got.Users, tt.wantUsers) {
				t.Errorf("users = %v, want %v", got.Users, tt.wantUsers)
			}
		})
	}
}
