package tree

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterCreateStep(sim.OrderTree, "tree", writeTree)
	sim.RegisterTeardown(90, "store-mount", teardownStore)
}

// writeTree writes every file of the server root that is neither a script
// nor a binary nor directory-server configuration: the configuration files,
// version files, queue, store and MTA log of st.Scenario (defaults applied,
// ports picked).
func writeTree(ctx context.Context, st *sim.State, binary string, log io.Writer) error {
	sc := &st.Scenario
	p := st.Paths()
	now := time.Now()
	steps := []struct {
		name string
		run  func() error
	}{
		{"admin server config", func() error { return writeAdmConf(st) }},
		{"install.inf", func() error { return writeInstallInf(st) }},
		{"version files", func() error { return WriteVersionFiles(st) }},
		{"messaging config", func() error { return WriteMsgConfig(st, true) }},
		{"mta config", func() error { return WriteIMTAConfig(st, true) }},
		{"messenger express", func() error { return WriteHTML(st, true) }},
		{"web server config", func() error { return writeWebServer(st) }},
		{"queue", func() error { return WriteQueue(ctx, p.Queue(), sc.Queue, sc.Host, now) }},
		{"mail log", func() error { return WriteMailLog(p.MailLog(), sc.MailLog, now) }},
		{"mboxlist", func() error { return os.MkdirAll(filepath.Join(p.Inst(), "store", "mboxlist"), 0o755) }},
		// Last: a loop mount is the only step that leaves state outside the root.
		{"store", func() error { return writeStore(ctx, st, log) }},
	}
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.run(); err != nil {
			return fmt.Errorf("write %s: %w", s.name, err)
		}
	}
	if log != nil {
		fmt.Fprintf(log, "tree: wrote %s (queue %d messages, store %d mailboxes)\n",
			sc.Root, sc.Queue.Messages, sc.Store.Mailboxes)
	}
	return nil
}

// UserID is the uid of the i-th (1-based) user, as the directory and the
// store name it: UserID(1) == "user0001".
func UserID(i int) string { return fmt.Sprintf("user%04d", i) }

// writeFile creates the parent directories of path and writes data to it.
func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create directory of %s: %w", filepath.Base(path), err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return nil
}
