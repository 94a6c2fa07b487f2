package remediate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/ablate"
)

// ---- §5 after the upgrade ---------------------------------------------------

// savedConfigs lists the files post.save_configs saves (those that exist).
func (p *planner) savedConfigs() []string {
	files := []string{
		filepath.Join(p.h.Root, "setup", "install.inf"),
		filepath.Join(p.h.InstDir, "config", "local.conf"),
		filepath.Join(p.h.InstDir, "config", "msg.conf"),
		filepath.Join(p.h.Root, "admin-serv", "config", "adm.conf"),
	}
	logs, _ := filepath.Glob(filepath.Join(p.h.Root, "setup", "msg", "*.log"))
	sort.Strings(logs)
	var out []string
	for _, f := range append(files, logs...) {
		if _, err := os.Stat(f); err == nil {
			out = append(out, f)
		}
	}
	return out
}

// proveStore proves that the store is back: mounted again (or moved
// back) and holding every mailbox it held before the upgrade.
func (p *planner) proveStore(ctx context.Context) error {
	if p.h.StoreMount != nil {
		if mp, err := isMountPoint(p.h.StorePath); err != nil || !mp {
			return fmt.Errorf("the store %s is not mounted (%s on %s)", p.h.StorePath, p.h.StoreMount.Device, p.h.StorePath)
		}
	} else if _, err := os.Stat(p.savedStore); err == nil {
		return fmt.Errorf("the store is still saved aside at %s", p.savedStore)
	}
	snap, err := p.collect(ctx)
	if err != nil {
		return err
	}
	st := snap.Store
	if st == nil || !st.Exists {
		return fmt.Errorf("the store %s cannot be read after putting it back", p.h.StorePath)
	}
	if st.Mailboxes < p.h.StoreMailboxes {
		return fmt.Errorf("the store %s holds %d mailboxes, %d before the upgrade", p.h.StorePath, st.Mailboxes, p.h.StoreMailboxes)
	}
	return nil
}

// versionIs proves, by a fresh collection, that a product reads as want.
func (p *planner) versionIs(ctx context.Context, what string, pick func(*facts.Versions) facts.ProductVersion, want string) error {
	snap, err := p.collect(ctx)
	if err != nil {
		return err
	}
	if snap.Versions == nil {
		return fmt.Errorf("the %s version could not be read", what)
	}
	if got := pick(snap.Versions); got.Version != want {
		v := got.Version
		if v == "" {
			v = "unknown"
		}
		return fmt.Errorf("the installer exited 0 but %s reads %s, want %s", what, v, want)
	}
	return nil
}

// expectedDaemon is one server post.start must leave running.
type expectedDaemon struct {
	role, daemon string
	ports        []int
}

func (d expectedDaemon) String() string {
	if strings.HasPrefix(d.role, "msg:") || d.role == "" {
		return d.daemon
	}
	return d.role
}

// expectedDaemons are the servers that ran before the upgrade (by role and
// daemon, with the ports they listened on), or, when the pre-upgrade
// snapshot saw none running, the Messaging core, the Administration
// Server and each Web Server instance.
func (p *planner) expectedDaemons() []expectedDaemon {
	var out []expectedDaemon
	for _, r := range p.h.Running {
		if strings.HasPrefix(r.Role, "slapd:") {
			continue // the directory was never stopped
		}
		out = append(out, expectedDaemon{role: r.Role, daemon: r.Daemon, ports: r.Ports})
	}
	if len(out) > 0 {
		return out
	}
	for _, d := range []string{"job_controller", "dispatcher", "stored"} {
		out = append(out, expectedDaemon{role: "msg:" + p.h.Instance, daemon: d})
	}
	out = append(out, expectedDaemon{role: "admin-server", daemon: "ns-httpd"})
	if p.h.HasWebAdmin {
		out = append(out, expectedDaemon{role: "webserver:https-admserv", daemon: "ns-httpd"})
	}
	for _, w := range p.h.WebInstances {
		out = append(out, expectedDaemon{role: "webserver:" + w, daemon: "ns-httpd"})
	}
	return out
}

// startSettle is how long the started servers must stay up: a daemon that
// starts, answers once and dies a second later is not running.
const startSettle = 3 * time.Second

// proveStarted proves that every expected server runs from this install
// (the process collector matches executables by path), answers on the
// ports it had before, and is still the same process after startSettle.
func (p *planner) proveStarted(ctx context.Context) error {
	want := p.expectedDaemons()
	// find maps role/daemon to the pids running now and names the
	// expected servers that have none.
	find := func() (map[string][]int32, []string, error) {
		procs, err := p.o.Daemons(ctx)
		if err != nil {
			return nil, nil, fmt.Errorf("list the install's processes: %w", err)
		}
		got := map[string][]int32{}
		for _, pr := range procs {
			got[pr.Role+"/"+pr.Daemon] = append(got[pr.Role+"/"+pr.Daemon], pr.PID)
		}
		var missing []string
		for _, d := range want {
			if len(got[d.role+"/"+d.daemon]) == 0 {
				missing = append(missing, d.String())
			}
		}
		return got, missing, nil
	}
	deadline := time.Now().Add(30 * time.Second)
	var first map[string][]int32
	for {
		got, missing, err := find()
		if err != nil {
			return err
		}
		if len(missing) == 0 {
			first = got
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the start scripts exited 0 but these servers do not run from %s: %s", p.h.Root, strings.Join(missing, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
	for _, d := range want {
		for _, port := range d.ports {
			if err := portAnswers(ctx, port); err != nil {
				return fmt.Errorf("%s runs but does not answer on port %d: %v", d, port, err)
			}
		}
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(startSettle):
	}
	got, _, err := find()
	if err != nil {
		return err
	}
	for _, d := range want {
		k := d.role + "/" + d.daemon
		alive := false
		for _, pid := range first[k] {
			alive = alive || slices.Contains(got[k], pid)
		}
		if !alive {
			return fmt.Errorf("%s (pid %d) started but is gone %s later", d, first[k][0], startSettle)
		}
	}
	return nil
}

// queueReport is the file post.queue writes: what is left in the queue
// after the start, by channel.
const queueReport = "queue-after-start.txt"

// watchQueue reads the queue until no message that is not held is left or
// the deadline passes, and writes what is left by channel.
func (p *planner) watchQueue(ctx context.Context, report string) error {
	if p.o.ScanQueue == nil {
		return fmt.Errorf("no queue reader")
	}
	dir := filepath.Join(p.h.InstDir, "imta", "queue")
	deadline := time.Now().Add(p.o.queueWatch())
	var q *facts.Queue
	for {
		var err error
		if q, err = p.o.ScanQueue(ctx, dir); err != nil {
			return fmt.Errorf("read the queue %s: %w", dir, err)
		}
		if active(q.Total) == 0 || time.Now().After(deadline) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# queue %s at %s: messages not held, held, temporary files, by channel\n", dir, time.Now().UTC().Format(time.RFC3339))
	fmt.Fprintf(&b, "total %d %d %d\n", active(q.Total), q.Total.Held, q.Total.Temp)
	var left []string
	for _, c := range q.Channels {
		if c.Messages == 0 && c.Temp == 0 {
			continue
		}
		fmt.Fprintf(&b, "channel %s %d %d %d\n", c.Name, active(c.QueueCounts), c.Held, c.Temp)
		if active(c.QueueCounts) > 0 {
			left = append(left, fmt.Sprintf("%s %d", c.Name, active(c.QueueCounts)))
		}
	}
	if err := os.MkdirAll(filepath.Dir(report), 0o700); err != nil {
		return err
	}
	if err := os.WriteFile(report, []byte(b.String()), 0o600); err != nil {
		return err
	}
	if len(left) > 0 && p.o.Out != nil {
		fmt.Fprintf(p.o.Out, "        the queue still holds undelivered mail after %s: %s (postflight.queue.stuck and msguard audit keep watching)\n",
			p.o.queueWatch(), strings.Join(left, ", "))
	}
	return nil
}

// active counts the messages that wait for delivery (not held).
func active(c facts.QueueCounts) int64 { return c.Messages - c.Held }

var queueTotalRe = regexp.MustCompile(`(?m)^total (\d+) `)

// proveQueueWatched proves that post.queue read the queue after the start:
// its report exists, was written after post.start, and the queue does not
// hold more undelivered mail now than it reported.
func (p *planner) proveQueueWatched(ctx context.Context, report string) error {
	fi, err := os.Stat(report)
	if err != nil {
		return fmt.Errorf("the queue was not read after the start (no %s)", report)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return err
	}
	m := queueTotalRe.FindSubmatch(b)
	if m == nil {
		return fmt.Errorf("%s has no total line", report)
	}
	var reported int64
	fmt.Sscan(string(m[1]), &reported)
	if p.o.ScanQueue == nil {
		return fmt.Errorf("no queue reader")
	}
	q, err := p.o.ScanQueue(ctx, filepath.Join(p.h.InstDir, "imta", "queue"))
	if err != nil {
		return err
	}
	if now := active(q.Total); now > reported {
		return fmt.Errorf("the queue holds %d undelivered messages, more than the %d %s reported at %s", now, reported, report, fi.ModTime().Format(time.RFC3339))
	}
	return nil
}

// namedCommand is a command of a step that the ablation sweep can turn
// off on its own (ablate point "<step>:<name>").
type namedCommand struct {
	name string
	argv []string
}

func (p *planner) postSteps() []*Step {
	postDir := filepath.Join(p.dir, "post")
	save := &Step{ID: "post.save_configs", Title: "save install.inf, local.conf, msg.conf, adm.conf and the setup logs",
		Commands: []string{"copy them to " + postDir}}
	savedAll := func(context.Context) error {
		for _, f := range p.savedConfigs() {
			if err := sameFile(f, filepath.Join(postDir, filepath.Base(f))); err != nil {
				return err
			}
		}
		return nil
	}
	save.check = func(ctx context.Context) (bool, error) { return savedAll(ctx) == nil, nil }
	save.do = func(context.Context) error {
		if err := os.MkdirAll(postDir, 0o700); err != nil {
			return err
		}
		for _, f := range p.savedConfigs() {
			if err := copyFile(f, filepath.Join(postDir, filepath.Base(f)), 0o600); err != nil {
				return fmt.Errorf("save %s: %w", f, err)
			}
		}
		return nil
	}
	save.verify = savedAll

	store := &Step{ID: "post.store", Title: "put the store back"}
	if p.h.StoreMount != nil {
		store.Title = "remount the store"
		store.Commands = []string{fmt.Sprintf("mount -t %s %s %s", p.h.StoreMount.FSType, p.h.StoreMount.Device, p.h.StorePath)}
		store.check = func(context.Context) (bool, error) { return isMountPoint(p.h.StorePath) }
		store.do = p.mountStore
	} else {
		store.Title = "move the saved store back"
		store.Commands = []string{fmt.Sprintf("rmdir %s && mv %s %s", p.h.StorePath, p.savedStore, p.h.StorePath)}
		store.check = func(context.Context) (bool, error) {
			_, err := os.Stat(p.savedStore)
			return os.IsNotExist(err), nil
		}
		store.do = func(context.Context) error { return p.moveStoreBack() }
	}
	store.verify = p.proveStore

	dssetup := &Step{ID: "post.dssetup", Title: "run ims_dssetup.pl (MTA direct LDAP lookup)", Destructive: true,
		Commands: []string{filepath.Join(p.mediaPath(), "msg52", "ims_dssetup.pl")}}
	if p.h.dsNeedsUpgrade() {
		dssetup.Skip = "ds.dssetup already runs it"
	}
	dssetup.check = p.dssetupDone
	dssetup.do = p.runDSSetup
	dssetup.verify = p.proveDSSetup
	if len(p.h.SlapdIDs) == 0 {
		// ims_dssetup.pl prepares a slapd-* instance of its own server
		// root: a directory on another host is prepared there (Run checks
		// that before it starts).
		dssetup.Commands = []string{fmt.Sprintf("(ims_dssetup.pl on the directory's own host: %s; checked here)", p.o.LDAP.URL)}
		dssetup.do = func(context.Context) error { return p.externalDSSetupMissing() }
	}

	ws := &Step{ID: "post.webserver", Title: "upgrade the Web Server to 6.0 SP2",
		Commands: []string{filepath.Join(p.mediaPath(), "ws60sp2", "setup")}}
	switch {
	case p.h.WebServer == "":
		ws.Skip = "no Web Server"
	case p.h.WebServer == "6.0SP2":
		ws.Skip = "the Web Server is already 6.0 SP2"
	case versionLess(strings.SplitN(p.h.WebServer, "SP", 2)[0], "6.0"):
		ws.Skip = fmt.Sprintf("Web Server %s cannot be upgraded to 6.0 SP2: migrate it by hand (runbook §5)", p.h.WebServer)
	case p.media == nil || !p.media.WebServer:
		ws.Skip = "no Web Server 6.0 SP2 media (DIR/ws60sp2/setup): upgrade it by hand"
	}
	wsIs := func(ctx context.Context) error {
		return p.versionIs(ctx, "the Web Server", func(v *facts.Versions) facts.ProductVersion { return v.WebServer }, "6.0SP2")
	}
	ws.check = func(ctx context.Context) (bool, error) { return wsIs(ctx) == nil, nil }
	ws.do = func(ctx context.Context) error {
		return p.drive(ctx, "post.webserver", WebServerAnswers(p.h.Root), "ws60sp2/setup")
	}
	ws.verify = wsIs

	da := &Step{ID: "post.da", Title: "uninstall Delegated Administrator and install 1.2 (old settings kept as *.nda)",
		Commands: []string{filepath.Join(p.mediaPath(), "da12", "uninstall"), filepath.Join(p.mediaPath(), "da12", "setup")}}
	switch {
	case p.h.DA == "":
		da.Skip = "no Delegated Administrator"
	case p.h.DA == "1.2":
		da.Skip = "Delegated Administrator is already 1.2"
	case p.media == nil || !p.media.DA:
		da.Skip = "no Delegated Administrator 1.2 media (DIR/da12): install it by hand"
	}
	daIs := func(ctx context.Context) error {
		return p.versionIs(ctx, "Delegated Administrator", func(v *facts.Versions) facts.ProductVersion { return v.DelegatedAdmin }, "1.2")
	}
	da.check = func(ctx context.Context) (bool, error) { return daIs(ctx) == nil, nil }
	da.do = func(ctx context.Context) error {
		if _, err := os.Stat(filepath.Join(p.h.Root, "setup", "nda", "nda.inf")); err == nil && !ablate.Skip("post.da:uninstall") {
			if err := p.drive(ctx, "post.da-uninstall", DAAnswers(p.h.Root), "da12/uninstall"); err != nil {
				return err
			}
		}
		return p.drive(ctx, "post.da", DAAnswers(p.h.Root), "da12/setup")
	}
	da.verify = func(ctx context.Context) error {
		if err := daIs(ctx); err != nil {
			return err
		}
		// The uninstall keeps the old DA settings as *.nda (runbook §5).
		for _, w := range p.h.WebInstances {
			f := filepath.Join(p.h.WSRoot, w, "config", "servlets.properties.nda")
			if _, err := os.Stat(f); err != nil {
				return fmt.Errorf("the old Delegated Administrator settings were not kept: no %s", f)
			}
		}
		return nil
	}

	start := &Step{ID: "post.start", Title: "start the servers by hand (setup starts none)"}
	starts := []namedCommand{{"start-msg", p.startMsgArgv()}, {"start-admin", []string{filepath.Join(p.h.Root, "start-admin")}}}
	if p.h.HasWebAdmin {
		starts = append(starts, namedCommand{"https-admserv", []string{filepath.Join(p.h.WSRoot, "https-admserv", "start")}})
	}
	for _, w := range p.h.WebInstances {
		starts = append(starts, namedCommand{w, []string{filepath.Join(p.h.WSRoot, w, "start")}})
	}
	for _, c := range starts {
		start.Commands = append(start.Commands, strings.Join(c.argv, " "))
	}
	start.check = func(context.Context) (bool, error) { return false, nil }
	start.do = func(ctx context.Context) error {
		for _, c := range starts {
			if ablate.Skip("post.start:" + c.name) {
				continue
			}
			argv := c.argv
			if c.name == "start-msg" && len(argv) > 1 && ablate.Skip("post.start:ha") {
				argv = argv[:1]
			}
			out, err := runScript(ctx, 5*time.Minute, argv[0], argv[1:]...)
			if err != nil && !strings.Contains(out, "already running") {
				return err
			}
		}
		return nil
	}
	start.verify = p.proveStarted

	maillog := &Step{ID: "post.maillog", Title: "read mail.log_current after the restart; judge the host with the postflight policies",
		Commands: []string{"msguard check --phase postflight --server-root " + p.h.Root}, Gate: "postflight"}
	maillog.check = func(context.Context) (bool, error) { return false, nil }

	report := filepath.Join(postDir, queueReport)
	queue := &Step{ID: "post.queue", Title: "watch the queue until the backlog is delivered; report what is left by channel",
		Commands: []string{fmt.Sprintf("read %s until no message waits (at most %s) -> %s", filepath.Join(p.h.InstDir, "imta", "queue"), p.o.queueWatch(), report)}}
	queue.check = func(context.Context) (bool, error) { return false, nil }
	queue.do = func(ctx context.Context) error { return p.watchQueue(ctx, report) }
	queue.verify = func(ctx context.Context) error { return p.proveQueueWatched(ctx, report) }

	return []*Step{save, store, dssetup, ws, da, start, maillog, queue}
}
