package remediate_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/remediate"
)

// TestSpaceNeed: the backups count every file of the server root once (the
// queue too, the store not, a hard link once) in whole 4 KiB blocks, a
// manifest line per entry, 2 KiB per directory entry and 1 MiB; a
// backout's restore needs the queue's blocks and the largest file.
func TestSpaceNeed(t *testing.T) {
	const block, line, mib = 4096, 256, 1 << 20
	for _, tc := range []struct {
		name                    string
		files                   map[string]int      // path below the root -> size
		link                    bool                // a hard link to "etc/big" as "etc/big.link"
		sparse                  map[string][2]int64 // path -> size, and bytes of data at its start
		users                   int64
		wantBackup, wantRestore int64
	}{
		{name: "empty root", wantBackup: 1*line + mib},
		{
			name: "queue, store, config",
			files: map[string]int{"etc/a.conf": 100, "msg-budgie/imta/queue/tcp_local/ZZ1.00": 2048,
				"msg-budgie/imta/queue/tcp_local/ZZ2.00": 5000, "msg-budgie/store/partition/primary/u/1": 1 << 20},
			users: 10,
			// entries: root, etc, etc/a.conf, msg-budgie, imta, queue, tcp_local, 2 messages = 9 (the store left out)
			wantBackup:  block + block + 2*block + 9*line + 10*2048 + mib,
			wantRestore: block + 2*block + 2*block, // the queue's 3 blocks + the largest file (2 blocks)
		},
		{
			name:        "a sparse file by its data",
			sparse:      map[string][2]int64{"slapd-budgie/db/siroe/data.mdb": {1 << 30, 2 * block}},
			wantBackup:  2*block + 5*line + mib, // root, slapd-budgie, db, siroe, data.mdb
			wantRestore: 2 * block,
		},
		{
			name:        "a hard link counted once",
			files:       map[string]int{"etc/big": 3 * block},
			link:        true,
			wantBackup:  3*block + 4*line + mib, // root, etc, big, big.link
			wantRestore: 3 * block,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			for rel, size := range tc.files {
				p := filepath.Join(root, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.Repeat("x", size)), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for rel, sd := range tc.sparse {
				p := filepath.Join(root, rel)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(strings.Repeat("x", int(sd[1]))), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Truncate(p, sd[0]); err != nil {
					t.Fatal(err)
				}
			}
			if tc.link {
				if err := os.Link(filepath.Join(root, "etc/big"), filepath.Join(root, "etc/big.link")); err != nil {
					t.Fatal(err)
				}
			}
			snap := &facts.Snapshot{ServerRoot: root,
				Install: &facts.Install{StorePath: filepath.Join(root, "msg-budgie/store")},
				Queue:   &facts.Queue{Path: filepath.Join(root, "msg-budgie/imta/queue")},
				LDAP:    &facts.LDAP{MailRecipients: tc.users}}
			backup, restore := remediate.SpaceNeed(snap)
			if backup != tc.wantBackup || restore != tc.wantRestore {
				t.Errorf("SpaceNeed = backup %d, restore %d; want %d, %d", backup, restore, tc.wantBackup, tc.wantRestore)
			}
		})
	}
	if b, r := remediate.SpaceNeed(nil); b != 0 || r != 0 {
		t.Errorf("SpaceNeed(nil) = %d, %d", b, r)
	}
}
