package remediate_test

// Helpers of the end-to-end tests: they drive the real msguard binary
// (and its failpoints build) against simulated hosts on a real directory
// server, each with its own state and backup directories.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/remediate/treebackup"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
	"github.com/msguard/msguard/sim/tree"
)

// Exit codes of contract.md.
const (
	exitOK            = 0
	exitRuntime       = 1
	exitNotReady      = 3
	exitBackedOut     = 5
	exitBackoutFailed = 6
)

// once builds or writes something shared by every test of the process.
type once struct {
	sync.Once
	path string
	err  error
}

var (
	fpBin       once // msguard built with -tags failpoints
	sharedMedia once // the 5.2 media (read-only for the tests)
)

// failpointBinary returns msguard built with the failpoints tag.
func failpointBinary(t *testing.T) string { return taggedBinary(t, &fpBin, "failpoints") }

// taggedBinary returns msguard built once per process with a build tag.
func taggedBinary(t *testing.T, o *once, tag string) string {
	t.Helper()
	o.Do(func() {
		dir, err := os.MkdirTemp("", "msguard-"+tag+"-")
		if err != nil {
			o.err = err
			return
		}
		out := filepath.Join(dir, "msguard-"+tag)
		cmd := exec.Command("go", "build", "-tags", tag, "-o", out, "github.com/msguard/msguard/cmd/msguard")
		if b, err := cmd.CombinedOutput(); err != nil {
			o.err = fmt.Errorf("go build -tags %s: %v\n%s", tag, err, b)
			return
		}
		o.path = out
	})
	if o.err != nil {
		t.Fatal(o.err)
	}
	return o.path
}

// mediaDir returns installer media written once per test process.
func mediaDir(t *testing.T) string {
	t.Helper()
	sharedMedia.Do(func() {
		dir, err := os.MkdirTemp("", "msguard-media-")
		if err != nil {
			sharedMedia.err = err
			return
		}
		sharedMedia.path = filepath.Join(dir, "media")
		sharedMedia.err = media.WriteMedia(sharedMedia.path, simtest.Binary(t))
	})
	if sharedMedia.err != nil {
		t.Fatal(sharedMedia.err)
	}
	return sharedMedia.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	for _, o := range []*once{&fpBin, &sharedMedia, &ablateBin} {
		if o.path != "" {
			os.RemoveAll(filepath.Dir(o.path))
		}
	}
	os.Exit(code)
}

// smallScenario keeps the hosts of these tests small: a few users, a
// queue with held messages, a plain-directory store, no errors in the
// mail log. edit changes it further.
func smallScenario(edit func(*sim.Scenario)) func(*sim.Scenario) {
	return func(sc *sim.Scenario) {
		sc.MsgVersion, sc.DSVersion = "5.1", "4.13"
		sc.Users, sc.PAB = 8, 4
		sc.Queue = sim.QueueSpec{Messages: 24, Held: 3, Temp: 2, Subdirs: 2}
		sc.Store = sim.StoreSpec{MessagesPerBox: 2}
		sc.MailLog = sim.MailLogSpec{E: 6, D: 6, Q: 1}
		sc.Secrets = sim.Secrets{DirectoryManager: "e2e-dm-Secret-31", ConfigAdmin: "e2e-admin-Secret-32",
			ServiceAdminID: "ServiceAdmin", ServiceAdmin: "e2e-svc-Secret-33", UGBindCred: "e2e-ug-Secret-34", PABPassword: "e2e-pab-Secret-35"}
		if edit != nil {
			edit(sc)
		}
	}
}

// host is a started simulated host with what msguard needs to upgrade it.
type host struct {
	*simtest.Host
	t        *testing.T
	media    string
	stateDir string
	backup   string // --backup-dir (does not exist before the run)
	ldapURL  string // the user/group directory
	dmPW     string
	adminPW  string
	env      []string // added to msguard's environment (PATH with the cluster CLIs)
}

// newHost creates and starts a host from smallScenario(edit).
func newHost(t *testing.T, edit func(*sim.Scenario)) *host {
	t.Helper()
	h := &host{Host: simtest.New(t, smallScenario(edit)), t: t, media: mediaDir(t)}
	h.Start(t)
	dir := t.TempDir()
	h.ldapURL = fmt.Sprintf("ldap://127.0.0.1:%d", h.State.Scenario.Ports.LDAP)
	h.stateDir = filepath.Join(dir, "state")
	h.backup = filepath.Join(dir, "backup")
	h.dmPW = writeSecret(t, dir, "dm.pw", h.State.Scenario.Secrets.DirectoryManager)
	h.adminPW = writeSecret(t, dir, "admin.pw", h.State.Scenario.Secrets.ConfigAdmin)
	h.env = []string{"PATH=" + h.Paths.ClusterBin() + string(os.PathListSeparator) + os.Getenv("PATH")}
	return h
}

func writeSecret(t *testing.T, dir, name, value string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// result is what one msguard run did.
type result struct {
	args []string
	out  string // stdout and stderr
	code int
	// killed is true when the process died of SIGKILL (a failpoint).
	killed bool
}

func (r result) String() string {
	return fmt.Sprintf("msguard %s: exit %d (killed %v)\n%s", strings.Join(r.args, " "), r.code, r.killed, r.out)
}

// msguard runs bin with args and extra environment variables.
func (h *host) msguard(bin string, env []string, args ...string) result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(append(os.Environ(), h.env...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	h.t.Logf("msguard %s %s: %v in %s", args[0], strings.Join(env, " "), cmd.ProcessState, time.Since(start).Round(time.Millisecond))
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		h.t.Fatalf("run msguard %s: %v", strings.Join(args, " "), err)
	}
	r := result{args: args, out: out.String(), code: cmd.ProcessState.ExitCode()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
		r.killed = true
	}
	return r
}

// common are the flags every command takes for this host.
func (h *host) common() []string {
	return []string{"--server-root", h.Root, "--bind-password-file", h.dmPW, "--state-dir", h.stateDir, "--no-progress"}
}

// remediateArgs are the arguments of a full remediate run.
func (h *host) remediateArgs(extra ...string) []string {
	args := append([]string{"remediate"}, h.common()...)
	args = append(args, "--media", h.media, "--admin-password-file", h.adminPW, "--backup-dir", h.backup, "--yes")
	return append(args, extra...)
}

// remediate runs the real msguard remediate.
func (h *host) remediate(extra ...string) result {
	h.t.Helper()
	return h.msguard(simtest.MsguardBinary(h.t), nil, h.remediateArgs(extra...)...)
}

// check runs msguard check --phase phase.
func (h *host) check(phase string) result {
	h.t.Helper()
	return h.msguard(simtest.MsguardBinary(h.t), nil, append([]string{"check", "--phase", phase}, h.common()...)...)
}

// backout runs msguard backout.
func (h *host) backoutRun() result {
	h.t.Helper()
	return h.msguard(simtest.MsguardBinary(h.t), nil, append([]string{"backout"}, h.common()...)...)
}

// expect fails the test unless r exited with code.
func expect(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code || r.killed {
		t.Fatalf("want exit %d; got %s", code, r)
	}
}

// journal reads the run's journal.
func (h *host) journal() []remediate.Record {
	h.t.Helper()
	j, recs, err := remediate.OpenJournal(filepath.Join(h.backup, "journal.log"))
	if err != nil {
		h.t.Fatal(err)
	}
	j.Close()
	return recs
}

// runState reads the root's run state.
func (h *host) runState() string {
	h.t.Helper()
	st, err := runstate.Read(h.stateDir, h.Root)
	if err != nil {
		h.t.Fatal(err)
	}
	return st.Status
}

// versions runs the install's own version commands.
func (h *host) versions() (msg, ds string) {
	h.t.Helper()
	out, err := exec.Command(filepath.Join(h.Paths.Inst(), "imsimta"), "version").CombinedOutput()
	if err != nil {
		h.t.Fatalf("imsimta version: %v\n%s", err, out)
	}
	msg = firstMatch(`Messaging Server (\d+\.\d+)`, string(out))
	out, err = exec.Command(h.Paths.NsSlapd(), "-v").CombinedOutput()
	if err != nil {
		h.t.Fatalf("ns-slapd -v: %v\n%s", err, out)
	}
	return msg, firstMatch(`Directory/(\d+\.\d+)`, string(out))
}

func firstMatch(re, s string) string {
	m := regexp.MustCompile(re).FindStringSubmatch(s)
	if m == nil {
		return ""
	}
	return m[1]
}

// ldapCount counts the entries below base that match filter, bound as the
// directory manager.
func (h *host) ldapCount(base, filter string) int {
	h.t.Helper()
	url := h.ldapURL
	c, err := ldap.DialURL(url)
	if err != nil {
		h.t.Fatalf("dial %s: %v", url, err)
	}
	defer c.Close()
	if err := c.Bind("cn=Directory Manager", h.State.Scenario.Secrets.DirectoryManager); err != nil {
		h.t.Fatalf("bind %s: %v", url, err)
	}
	res, err := c.Search(ldap.NewSearchRequest(base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
		filter, []string{"1.1"}, nil))
	if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return 0
	}
	if err != nil {
		h.t.Fatalf("search %s %s: %v", base, filter, err)
	}
	return len(res.Entries)
}

// content is what must survive an upgrade or a backout untouched: the
// directory's users and address book, every mailbox file and every queued
// message (held ones included), each file by its content.
type content struct {
	Users, PAB int
	Store      map[string]string // path below the store → sha256
	Queue      map[string]string // path below the queue → sha256
}

func (h *host) content() content {
	h.t.Helper()
	return content{
		Users: h.ldapCount("o=siroe.com", "(objectClass=inetLocalMailRecipient)"),
		PAB:   h.ldapCount("o=pab", "(objectClass=inetOrgPerson)"),
		Store: fileHashes(h.t, h.Paths.Store()),
		Queue: h.queueAndDelivered(),
	}
}

// queueAndDelivered is every message file of the queue together with those
// the simulated 5.2 job controller has delivered since (same relative
// path): a message must be queued or delivered, never lost.
func (h *host) queueAndDelivered() map[string]string {
	h.t.Helper()
	all := fileHashes(h.t, h.Paths.Queue())
	sink := tree.DeliveredDir(h.Paths)
	if _, err := os.Stat(sink); os.IsNotExist(err) {
		return all
	}
	for rel, sum := range fileHashes(h.t, sink) {
		if _, dup := all[rel]; dup {
			h.t.Errorf("message %s is both queued and delivered", rel)
		}
		all[rel] = sum
	}
	return all
}

// held counts the .HELD messages of a queue listing.
func held(queue map[string]string) int {
	n := 0
	for p := range queue {
		if strings.HasSuffix(p, ".HELD") {
			n++
		}
	}
	return n
}

// sameContent fails the test when after lost or changed anything of before.
func sameContent(t *testing.T, what string, before, after content) {
	t.Helper()
	if before.Users == 0 || len(before.Store) == 0 {
		t.Fatalf("%s: the host had %d users and %d store files before: the scenario is empty", what, before.Users, len(before.Store))
	}
	if after.Users != before.Users || after.PAB != before.PAB {
		t.Errorf("%s: %d users and %d PAB entries; want %d and %d", what, after.Users, after.PAB, before.Users, before.PAB)
	}
	if d := diffMaps(before.Store, after.Store); len(d) > 0 {
		t.Errorf("%s: the store changed: %s", what, strings.Join(d, "; "))
	}
	if d := diffMaps(before.Queue, after.Queue); len(d) > 0 {
		t.Errorf("%s: the queue changed: %s", what, strings.Join(d, "; "))
	}
}

// fileHashes maps every regular file below dir (lost+found aside) to its
// sha256.
func fileHashes(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "lost+found" {
			return filepath.SkipDir
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out[rel] = hashOf(t, p)
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

func hashOf(t *testing.T, p string) string {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// treeState describes every path below root (except those ignore picks):
// type, mode, owner, size, content hash, link target and mtime, so two
// states are equal only when nothing at all changed.
func treeState(t *testing.T, root string, ignore func(rel string) bool) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if ignore != nil && rel != "." && ignore(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		desc := fmt.Sprintf("%s %d:%d mtime=%d", fi.Mode(), st.Uid, st.Gid, fi.ModTime().UnixNano())
		switch {
		case fi.Mode().IsRegular():
			desc += fmt.Sprintf(" size=%d sha256=%s", fi.Size(), hashOf(t, p))
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return out
}

// diffMaps lists the keys whose values differ, sorted, at most 20.
func diffMaps(a, b map[string]string) []string {
	var d []string
	for k, v := range a {
		w, ok := b[k]
		switch {
		case !ok:
			d = append(d, "missing "+k)
		case v != w:
			d = append(d, fmt.Sprintf("changed %s: %s => %s", k, v, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			d = append(d, "extra "+k)
		}
	}
	sort.Strings(d)
	if len(d) > 20 {
		d = append(d[:20], fmt.Sprintf("... %d more", len(d)-20))
	}
	return d
}

// runtimePath picks the files that starting and stopping the services
// write, whatever msguard does: the simulator's pid files and daemon logs
// (.msguard-sim/run), the Directory Server's pid files and error log
// (slapd-*/logs) and its lock files (slapd-*/db/*/lock.mdb). A service
// that was stopped and started again by the undo or the backout has
// rewritten them; nothing else may differ.
func runtimePath(rel string) bool {
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) >= 2 && parts[0] == ".msguard-sim" && parts[1] == "run":
		return true
	case len(parts) >= 2 && strings.HasPrefix(parts[0], "slapd-") && parts[1] == "logs":
		return true
	case len(parts) == 4 && strings.HasPrefix(parts[0], "slapd-") && parts[1] == "db" && parts[3] == "lock.mdb":
		return true
	}
	return false
}

// runtimeDiff reports whether a treebackup.Compare difference is only the
// runtime churn of runtimePath: a path below it, or the mtime of a
// directory that holds such a file (slapd-*/db/*: lock.mdb is recreated).
func runtimeDiff(d string) bool {
	kind, rest, _ := strings.Cut(d, " ")
	p, _, _ := strings.Cut(rest, ":")
	if runtimePath(p) {
		return true
	}
	parts := strings.Split(p, "/")
	return kind == "mtime" && (p == ".msguard-sim" ||
		(len(parts) == 3 && strings.HasPrefix(parts[0], "slapd-") && parts[1] == "db") ||
		(len(parts) == 1 && strings.HasPrefix(parts[0], "slapd-")))
}

// compareWithBackup compares the server root with the server-root backup's
// manifest (the store aside) and returns the differences that are not
// runtime churn.
func (h *host) compareWithBackup() []string {
	h.t.Helper()
	store, _ := filepath.Rel(h.Root, h.Paths.Store())
	keep := []string{filepath.ToSlash(store)}
	// The renamed store of a plain-directory store sits beside it.
	if m, _ := filepath.Glob(h.Paths.Store() + ".msguard-*"); len(m) > 0 {
		h.t.Errorf("saved store left behind: %v", m)
	}
	// A queue that was not empty is saved by backup.queue alone: the
	// server-root backup leaves it out (each byte copied once), and the
	// queue is compared with its own backup.
	queueBackup := filepath.Join(h.backup, "queue")
	var diffs []string
	if _, err := os.Stat(treebackup.ManifestPath(queueBackup, "queue")); err == nil {
		queue, _ := filepath.Rel(h.Root, h.Paths.Queue())
		queue = filepath.ToSlash(queue)
		keep = append(keep, queue)
		if _, err := treebackup.ReadManifest(filepath.Join(h.backup, "server-root"), "server-root", func(e *treebackup.ManifestEntry) error {
			if e.Path == queue || strings.HasPrefix(e.Path, queue+"/") {
				return fmt.Errorf("the server-root backup holds %s: the queue is copied twice", e.Path)
			}
			return nil
		}); err != nil {
			h.t.Fatal(err)
		}
		if diffs, err = treebackup.Compare(context.Background(), queueBackup, "queue", h.Paths.Queue(), nil); err != nil {
			h.t.Fatalf("compare the queue with its backup: %v", err)
		}
		for i := range diffs {
			diffs[i] = "queue: " + diffs[i]
		}
	}
	rootDiffs, err := treebackup.Compare(context.Background(), filepath.Join(h.backup, "server-root"), "server-root", h.Root, keep)
	if err != nil {
		h.t.Fatalf("compare with the backup: %v", err)
	}
	diffs = append(diffs, rootDiffs...)
	var out []string
	for _, d := range diffs {
		if runtimeDiff(d) || (strings.Contains(d, " "+simStateFile+":") && h.onlyClusterStateDiffers()) {
			continue
		}
		out = append(out, d)
	}
	return out
}

// simStateFile is the simulator's own state, below the server root.
const simStateFile = ".msguard-sim/state.json"

// onlyClusterStateDiffers reports whether the simulator's state file
// differs from its backup copy in the cluster's state alone: on a real
// host the cluster keeps its state outside the server root (the backout
// restores the root, then gives the data service back to the cluster).
func (h *host) onlyClusterStateDiffers() bool {
	load := func(path string) map[string]any {
		b, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		var m map[string]any
		if json.Unmarshal(b, &m) != nil {
			return nil
		}
		for k := range m {
			if strings.EqualFold(k, "cluster") {
				delete(m, k)
			}
		}
		return m
	}
	saved := load(filepath.Join(treebackup.DataDir(filepath.Join(h.backup, "server-root"), "server-root"), simStateFile))
	now := load(filepath.Join(h.Root, simStateFile))
	return saved != nil && now != nil && reflect.DeepEqual(saved, now)
}

// planLine matches a step of msguard remediate --plan: "  3. stop.msg  ..."
// or "   -  post.dssetup  skipped: why".
var (
	planStep = regexp.MustCompile(`^\s+\d+\.\s+(\S+)\s`)
	planSkip = regexp.MustCompile(`^\s+-\s+(\S+)\s+skipped: (.*)$`)
)

// planSteps parses --plan output into the steps that run and the skipped
// ones with their reasons.
func planSteps(out string) (run []string, skipped map[string]string) {
	skipped = map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		if m := planStep.FindStringSubmatch(line); m != nil {
			run = append(run, m[1])
		} else if m := planSkip.FindStringSubmatch(line); m != nil {
			skipped[m[1]] = m[2]
		}
	}
	return run, skipped
}

// checkJournal checks a completed run's journal: every step that ran has
// exactly one intent and one done record, in that order, every skipped
// step one skip record, no step failed or was undone, and the run ended
// completed. It returns the steps done and the skip reasons.
func checkJournal(t *testing.T, recs []remediate.Record) (done []string, skipped map[string]string) {
	t.Helper()
	skipped = map[string]string{}
	intents := map[string]int{}
	dones := map[string]int{}
	for _, r := range recs {
		switch r.Kind {
		case remediate.KindIntent:
			intents[r.Step]++
		case remediate.KindDone:
			if intents[r.Step] != dones[r.Step]+1 {
				t.Errorf("journal: done %s without an intent before it", r.Step)
			}
			dones[r.Step]++
			done = append(done, r.Step)
		case remediate.KindSkip:
			skipped[r.Step] = r.Detail["why"]
		case remediate.KindFailed, remediate.KindUndoIntent, remediate.KindUndone:
			t.Errorf("journal: %s %s in a completed run", r.Kind, r.Step)
		}
	}
	for s, n := range dones {
		if n != 1 || intents[s] != 1 {
			t.Errorf("journal: step %s has %d intent and %d done records; want 1 and 1", s, intents[s], n)
		}
	}
	sum := remediate.Summarize(recs)
	if sum.Open || len(sum.InDoubt) > 0 || len(sum.Failed) > 0 {
		t.Errorf("journal summary: open %v, in doubt %v, failed %v", sum.Open, sum.InDoubt, sum.Failed)
	}
	if last := recs[len(recs)-1]; last.Kind != remediate.KindRunEnd || last.Detail["result"] != "completed" {
		t.Errorf("journal ends with %s %v; want run-end completed", last.Kind, last.Detail)
	}
	return done, skipped
}

// upgraded checks that the host runs 5.2 with DS 4.16 and that the
// postflight check passes.
func (h *host) upgraded() {
	h.t.Helper()
	if msg, ds := h.versions(); msg != "5.2" || ds != "4.16" {
		h.t.Errorf("after the upgrade: Messaging %s, Directory %s; want 5.2, 4.16", msg, ds)
	}
	expect(h.t, h.check("postflight"), exitOK)
}

// restored checks that the host is back on 5.1 / DS dsVersion, with the
// server root equal to its backup (runtime churn aside).
func (h *host) restored(dsVersion string) {
	h.t.Helper()
	if msg, ds := h.versions(); msg != "5.1" || ds != dsVersion {
		h.t.Errorf("after the backout: Messaging %s, Directory %s; want 5.1, %s", msg, ds, dsVersion)
	}
	if _, err := os.Stat(treebackup.ManifestPath(filepath.Join(h.backup, "server-root"), "server-root")); os.IsNotExist(err) {
		return // the run stopped before the first backup: nothing to compare
	}
	if d := h.compareWithBackup(); len(d) > 0 {
		h.t.Errorf("the server root differs from its backup: %s", strings.Join(d, "; "))
	}
}

// stepsOf returns the ids of the journal records of kind.
func stepsOf(recs []remediate.Record, kind string) []string {
	var out []string
	for _, r := range recs {
		if r.Kind == kind && !slices.Contains(out, r.Step) {
			out = append(out, r.Step)
		}
	}
	return out
}
