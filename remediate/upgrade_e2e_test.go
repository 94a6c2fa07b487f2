package remediate_test

import (
	"github.com/msguard/msguard/internal/runstate"
	"github.com/msguard/msguard/judgement"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
	"github.com/msguard/msguard/sim/tree"
)

// referenceScenario is testdata/scenarios/reference.yaml (5.1, DS 4.13,
// queued and held messages, the store on a loop-mounted ext4, Web Server
// 6.0 SP1, DA 1.1) with a queue of 200 messages instead of 1,000.
func referenceScenario(t *testing.T) func(*sim.Scenario) {
	ref, err := sim.LoadScenario(filepath.Join("..", "testdata", "scenarios", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return func(sc *sim.Scenario) {
		root := sc.Root
		*sc = ref
		sc.Root = root
		sc.Queue.Messages, sc.Queue.Held = 200, 12
		if !sc.Store.Mount {
			t.Fatal("reference.yaml no longer puts the store on a loop mount")
		}
	}
}

// TestRemediateReference upgrades the reference host end to end with the
// real binary: --plan first (changes nothing, names exactly the steps the
// run then journals), the run (exit 0, postflight healthy, nothing lost,
// backups private), then a second run, which preflight refuses (exit 3)
// without touching anything.
func TestRemediateReference(t *testing.T) {
	t.Parallel()
	h := newHost(t, referenceScenario(t))
	before := h.content()
	if held(before.Queue) != 12 || len(before.Queue) < 200 {
		t.Fatalf("the reference queue holds %d files, %d held", len(before.Queue), held(before.Queue))
	}
	tree := treeState(t, h.Root, runtimePath)

	// --plan changes nothing and creates no backup.
	plan := h.remediate("--plan")
	expect(t, plan, exitOK)
	if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
		t.Fatalf("--plan changed the host: %s", strings.Join(d, "; "))
	}
	if _, err := os.Stat(h.backup); !os.IsNotExist(err) {
		t.Fatalf("--plan created the backup directory (%v)", err)
	}
	planRun, planSkipped := planSteps(plan.out)

	r := h.remediate()
	expect(t, r, exitOK)
	recs := h.journal()
	done, skipped := checkJournal(t, recs)
	if !slices.Equal(done, planRun) {
		t.Errorf("the run did   %v\nthe plan said %v", done, planRun)
	}
	if len(skipped) != len(planSkipped) {
		t.Errorf("the run skipped %v; the plan said %v", skipped, planSkipped)
	}
	for id, why := range planSkipped {
		if skipped[id] != why {
			t.Errorf("%s skipped because %q; the plan said %q", id, skipped[id], why)
		}
	}
	for _, id := range []string{"backup.store", "post.store", "ds.setup", "ds.dssetup", "msg.setup", "post.webserver", "post.da"} {
		if !slices.Contains(done, id) {
			t.Errorf("step %s did not run on the reference host", id)
		}
	}
	if s := h.runState(); s != "completed" {
		t.Errorf("run state %q; want completed", s)
	}
	h.upgraded()
	after := h.content()
	sameContent(t, "after the upgrade", before, after)
	if mp := isMountPoint(t, h.Paths.Store()); !mp {
		t.Errorf("the store %s is not mounted again", h.Paths.Store())
	}
	st := h.Reload(t)
	if st.WebServer != "6.0SP2" || st.DA != "1.2" {
		t.Errorf("Web Server %s, DA %s; want 6.0SP2, 1.2", st.WebServer, st.DA)
	}
	checkPrivate(t, h.backup)

	// A second run changes nothing: preflight says already upgraded.
	tree = treeState(t, h.Root, runtimePath)
	journal := hashOf(t, filepath.Join(h.backup, "journal.log"))
	again := filepath.Join(t.TempDir(), "again")
	args := h.remediateArgs()
	args[slices.Index(args, h.backup)] = again
	second := h.msguard(simtestBinary(t), nil, args...)
	expect(t, second, exitNotReady)
	if !strings.Contains(second.out, "preflight.msg.already_upgraded") {
		t.Errorf("second run: no preflight.msg.already_upgraded finding:\n%s", second.out)
	}
	if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
		t.Errorf("the second run changed the host: %s", strings.Join(d, "; "))
	}
	if _, err := os.Stat(again); !os.IsNotExist(err) {
		t.Errorf("the second run created its backup directory (%v)", err)
	}
	if hashOf(t, filepath.Join(h.backup, "journal.log")) != journal || h.runState() != "completed" {
		t.Errorf("the second run changed the first run's journal or run state")
	}
	auditAfterUpgrade(t, h)
}

// auditAfterUpgrade audits the freshly upgraded reference host against the
// baseline remediate kept: the only finding is the customised msg.conf key
// that setup -k leaves in backup.<timestamp> (the runbook has the operator
// re-apply it); once re-applied with configutil and the messaging server
// restarted, the audit passes with exit 0.
func auditAfterUpgrade(t *testing.T, h *host) {
	t.Helper()
	audit := func() (result, *judgement.Report) {
		report := filepath.Join(t.TempDir(), "audit.json")
		r := h.msguard(simtest.MsguardBinary(t), nil, append([]string{"audit", "--format", "json", "-o", report}, h.common()...)...)
		f, err := os.Open(report)
		if err != nil {
			t.Fatalf("audit wrote no report: %v\n%s", err, r)
		}
		defer f.Close()
		rep, err := judgement.DecodeReport(f)
		if err != nil {
			t.Fatalf("audit report: %v\n%s", err, r)
		}
		return r, rep
	}
	keys := func(rep *judgement.Report) []string {
		var out []string
		for _, f := range rep.Findings {
			if f.Severity == judgement.SeveritySkip {
				continue // the mail-flow probe: no probe account given here
			}
			out = append(out, string(f.Severity)+" "+f.Key)
		}
		slices.Sort(out)
		return out
	}
	skipped := func(rep *judgement.Report) []string {
		var out []string
		for _, f := range rep.Findings {
			if f.Severity == judgement.SeveritySkip {
				out = append(out, f.Key)
			}
		}
		return out
	}
	r, rep := audit()
	if s := skipped(rep); !slices.Contains(s, "audit.mailflow.latency") {
		t.Errorf("audit without a probe account: the mail-flow probe is not reported skipped (skips %v)", s)
	}
	want := []string{"deny audit.config.customizations", "warn postflight.config.customizations"}
	if r.code != exitNotReady || !slices.Equal(keys(rep), want) {
		t.Fatalf("audit right after the upgrade: exit %d, findings %v; want exit %d and %v\n%s", r.code, keys(rep), exitNotReady, want, r)
	}
	if !slices.Contains(rep.Passed, "audit.baseline.users") || !slices.Contains(rep.Passed, "audit.queue.undelivered") {
		t.Errorf("audit passed keys lack the baseline comparisons: %v", rep.Passed)
	}
	inst := h.Paths.Inst()
	for key, value := range h.State.Scenario.Customizations {
		h.Run(t, filepath.Join(filepath.Base(inst), "configutil"), "-o", key, "-v", value)
	}
	// The site lines of imta/config and html: the saved files put back.
	backups, _ := filepath.Glob(filepath.Join(inst, "backup.[0-9]*"))
	if len(backups) == 0 {
		t.Fatalf("setup -k left no backup.<timestamp> in %s", inst)
	}
	for _, rel := range tree.CustomizedFiles(&h.State.Scenario) {
		b, err := os.ReadFile(filepath.Join(backups[len(backups)-1], filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(inst, filepath.FromSlash(rel)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.Run(t, filepath.Join(filepath.Base(inst), "stop-msg"))
	h.Run(t, filepath.Join(filepath.Base(inst), "start-msg"))
	r, rep = audit()
	if r.code != exitOK || rep.Verdict != judgement.VerdictHealthy || len(keys(rep)) != 0 {
		t.Fatalf("audit after re-applying %v: exit %d, verdict %s, findings %v\n%s", h.State.Scenario.Customizations, r.code, rep.Verdict, keys(rep), r)
	}
}

// checkPrivate checks that the backup directory and everything in it is
// readable by root only: directories 0700, files 0600.
func checkPrivate(t *testing.T, dir string) {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case fi.IsDir() && fi.Mode().Perm() != 0o700:
			t.Errorf("backup directory %s has mode %s; want 0700", p, fi.Mode().Perm())
		case fi.Mode().IsRegular() && fi.Mode().Perm() != 0o600:
			t.Errorf("backup file %s has mode %s; want 0600", p, fi.Mode().Perm())
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 100 {
		t.Errorf("the backup directory holds only %d entries", n)
	}
}

func isMountPoint(t *testing.T, path string) bool {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 4 && f[4] == path {
			return true
		}
	}
	return false
}

// TestRemediateBranches upgrades hosts that take the runbook's other
// branches and checks each step that ran or was skipped, and why.
func TestRemediateBranches(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*sim.Scenario)
		// ran and skipped: steps that must be done / skipped (reason
		// containing the text).
		ran        []string
		skipped    map[string]string
		components string // msg.setup's answer to "components"
		// backout: after the upgrade, msguard backout restores 5.1 and the
		// store.
		backout bool
		// oldErrors: mail.log_current holds error records from before the
		// upgrade; post.maillog judges only those since post.start (the
		// standalone check, which has no --since, would count them).
		oldErrors bool
		// mounted: the store is a mount, and must be mounted again after
		// the backout.
		mounted bool
		// transcripts and ldifs: files the run must leave in the backup
		// directory's transcripts/ and ldif/.
		transcripts, ldifs []string
	}{{
		name:       "old-maillog-errors",
		edit:       func(sc *sim.Scenario) { sc.MailLog = sim.MailLogSpec{E: 4, D: 3, J: 1, R: 1, B: 1} },
		ran:        []string{"post.maillog"},
		components: "1, 3, 4",
		oldErrors:  true,
	}, {
		name:       "ds-4.16",
		edit:       func(sc *sim.Scenario) { sc.DSVersion = "4.16"; sc.WebServer, sc.DA = "6.0SP2", "1.2" },
		ran:        []string{"post.dssetup", "msg.setup"},
		skipped:    map[string]string{"ds.setup": "already 4.16", "ds.save_installinf": "already 4.16", "ds.dssetup": "already 4.16", "post.webserver": "already 6.0 SP2", "post.da": "already 1.2"},
		components: "1, 3, 4",
	}, {
		name:       "no-webserver-no-da-empty-queue-plain-store",
		edit:       func(sc *sim.Scenario) { sc.Queue = sim.QueueSpec{} },
		ran:        []string{"backup.store", "post.store", "ds.setup", "msg.setup"},
		skipped:    map[string]string{"post.webserver": "no Web Server", "post.da": "no Delegated Administrator", "stop.webserver_admin": "no Web Server admin", "stop.webserver_instance": "no Web Server instance", "backup.queue": "queue is empty", "post.dssetup": "ds.dssetup already"},
		components: "1, 3, 4",
		backout:    true,
	}, {
		// The store is a mount: backup.store unmounts it, post.store
		// mounts it again, and msguard backout takes it off around the
		// restore (backout.store_off: umount) and puts it back
		// (backout.store_on: mount).
		name:       "mounted-store-backout",
		edit:       func(sc *sim.Scenario) { sc.Store.Mount = true },
		ran:        []string{"backup.store", "post.store", "msg.setup"},
		components: "1, 3, 4",
		backout:    true,
		mounted:    true,
	}, {
		// Two directory instances in the root (user/group and
		// configuration directory, each a real LDAP server): db2ldif of
		// each proven against its own server, setup -k run from each
		// slapd-* directory, ims_dssetup against the user directory.
		name:        "two-directory-instances",
		edit:        func(sc *sim.Scenario) { sc.DSInstances = []string{"budgie", "config"} },
		ran:         []string{"backup.ldif", "ds.setup", "ds.dssetup", "msg.setup"},
		components:  "1, 3, 4",
		transcripts: []string{"ds.setup-slapd-budgie.log", "ds.setup-slapd-config.log"},
		ldifs:       []string{"slapd-budgie.ldif", "slapd-config.ldif"},
	}, {
		name:       "webserver-4.1",
		edit:       func(sc *sim.Scenario) { sc.WebServer = "4.1"; sc.DA = "1.1" },
		ran:        []string{"stop.webserver_admin", "stop.webserver_instance", "post.da"},
		skipped:    map[string]string{"post.webserver": "migrate it"},
		components: "1, 3, 4",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, tt.edit)
			before := h.content()
			plan := h.remediate("--plan")
			expect(t, plan, exitOK)
			planRun, _ := planSteps(plan.out)
			expect(t, h.remediate(), exitOK)
			done, skipped := checkJournal(t, h.journal())
			if !slices.Equal(done, planRun) {
				t.Errorf("the run did   %v\nthe plan said %v", done, planRun)
			}
			for _, id := range tt.ran {
				if !slices.Contains(done, id) {
					t.Errorf("step %s did not run", id)
				}
			}
			for id, why := range tt.skipped {
				if !strings.Contains(skipped[id], why) {
					t.Errorf("step %s: skip reason %q; want one with %q", id, skipped[id], why)
				}
			}
			for _, f := range tt.transcripts {
				if _, err := os.Stat(filepath.Join(h.backup, "transcripts", f)); err != nil {
					t.Errorf("no installer transcript %s: %v", f, err)
				}
			}
			for _, f := range tt.ldifs {
				if fi, err := os.Stat(filepath.Join(h.backup, "ldif", f)); err != nil || fi.Size() == 0 {
					t.Errorf("no db2ldif export %s (%v)", f, err)
				}
			}
			tr, err := os.ReadFile(filepath.Join(h.backup, "transcripts", "msg.setup.log"))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(tr), "Specify the components you wish to install [All]: "+tt.components+"\n") {
				t.Errorf("msg.setup was not answered components %q:\n%s", tt.components, tr)
			}
			if tt.oldErrors {
				if msg, ds := h.versions(); msg != "5.2" || ds != "4.16" {
					t.Errorf("Messaging %s, Directory %s; want 5.2, 4.16", msg, ds)
				}
				// Proof that the old records are there: the whole-file
				// check counts them.
				if c := h.check("postflight"); c.code != exitNotReady || !strings.Contains(c.out, "postflight.maillog.errors") {
					t.Errorf("the standalone postflight check does not see the old errors: %s", c)
				}
			} else {
				h.upgraded()
			}
			sameContent(t, "after the upgrade", before, h.content())
			if !tt.backout {
				return
			}
			// The plain-directory store was renamed and moved back; the
			// backout renames it away and back again around the restore.
			expect(t, h.backoutRun(), exitOK)
			if msg, ds := h.versions(); msg != "5.1" || ds != "4.13" {
				t.Errorf("after msguard backout: Messaging %s, Directory %s; want 5.1, 4.13", msg, ds)
			}
			if d := h.compareWithBackup(); len(d) > 0 {
				t.Errorf("after msguard backout the server root differs from its backup: %s", strings.Join(d, "; "))
			}
			if s := h.runState(); s != "backed_out" {
				t.Errorf("run state %q after msguard backout", s)
			}
			sameContent(t, "after msguard backout", before, h.content())
			if tt.mounted {
				if !isMountPoint(t, h.Paths.Store()) {
					t.Errorf("after msguard backout the store %s is not mounted", h.Paths.Store())
				}
				var offOn []string
				for _, r := range h.journal() {
					if r.Kind == remediate.KindDone && (r.Step == "backout.store_off" || r.Step == "backout.store_on") {
						offOn = append(offOn, r.Step)
					}
				}
				if !slices.Equal(offOn, []string{"backout.store_off", "backout.store_on"}) {
					t.Errorf("backout journal: store steps done %v; want backout.store_off, backout.store_on", offOn)
				}
			}
		})
	}
}

// TestRemediateHA upgrades the three cluster variants: the ha.* steps take
// the data service out of the cluster before anything is stopped (the
// cluster restarts what a stop script stops), give it back after
// post.start, and leave the cluster as the runbook wants it (data service
// on, resources linked and enabled, agent package at 5.2).
func TestRemediateHA(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ha      string
		order   []string // the ha.* steps, in order, with their neighbours
		cluster map[string]string
	}{{
		ha:      "sc22",
		order:   []string{"ha.sc22.off", "ha.sc22.unregister", "stop.msg", "backup.server_root", "msg.setup", "post.start", "ha.sc22.reinstall", "post.maillog"},
		cluster: map[string]string{media.SC22Service: "on"},
	}, {
		ha:    "vcs",
		order: []string{"ha.vcs.offline", "ha.vcs.unlink", "ha.vcs.online", "stop.msg", "backup.server_root", "msg.setup", "post.start", "ha.vcs.relink", "post.maillog"},
		cluster: map[string]string{media.VCSGroup: "ONLINE", "mail": "ONLINE", "logical_IP": "ONLINE", "mountshared": "ONLINE",
			"enabled:mail": "1", "dep:mail->logical_IP": "1", "dep:mail->mountshared": "1"},
	}, {
		ha:      "sc3",
		order:   []string{"ha.sc3.off", "stop.msg", "msg.setup", "ha.sc3.agent", "post.save_configs", "post.start", "ha.sc3.on", "post.maillog"},
		cluster: map[string]string{media.SC3Group: "Online", media.SC3Resource: "Online"},
	}}
	for _, tt := range tests {
		t.Run(tt.ha, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, func(sc *sim.Scenario) { sc.HA = tt.ha })
			expect(t, h.remediate(), exitOK)
			done, _ := checkJournal(t, h.journal())
			var got []string
			for _, id := range done {
				if slices.Contains(tt.order, id) {
					got = append(got, id)
				}
			}
			if !slices.Equal(got, tt.order) {
				t.Errorf("steps ran in the order %v; want %v", got, tt.order)
			}
			for _, id := range done {
				if strings.HasPrefix(id, "ha.") && !slices.Contains(tt.order, id) {
					t.Errorf("unexpected step %s", id)
				}
			}
			st := h.Reload(t)
			for k, v := range tt.cluster {
				if st.Cluster[k] != v {
					t.Errorf("cluster %s = %q; want %q (cluster %v)", k, st.Cluster[k], v, st.Cluster)
				}
			}
			if tt.ha == "sc3" {
				// The agent package is upgraded on every node, not only here.
				agents := 0
				for k, v := range st.Cluster {
					if strings.HasPrefix(k, "pkg:") && strings.HasSuffix(k, ":"+media.SC3AgentPkg) {
						agents++
						if v != "5.2" {
							t.Errorf("cluster %s = %q; want 5.2", k, v)
						}
					}
				}
				if agents < 2 {
					t.Errorf("the agent package is on %d nodes; want 2 (cluster %v)", agents, st.Cluster)
				}
			}
			h.upgraded()
		})
	}
}

// TestRemediateLock runs a second remediate while a first one holds the
// root's lock (waiting for its confirmation): the second exits 1 naming
// the first one's pid, and nothing changes.
func TestRemediateLock(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	tree := treeState(t, h.Root, runtimePath)
	args := h.remediateArgs()
	args = args[:len(args)-1] // no --yes: the first run waits for "yes"
	first := exec.Command(simtestBinary(t), args...)
	first.Env = append(os.Environ(), h.env...)
	stdin, err := first.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := first.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	// The confirmation question comes after the lock is taken.
	var seen strings.Builder
	buf := make([]byte, 4096)
	for !strings.Contains(seen.String(), "Type yes to continue") {
		n, err := out.Read(buf)
		seen.Write(buf[:n])
		if err != nil {
			t.Fatalf("the first run ended before asking: %v\n%s", err, seen.String())
		}
	}
	second := h.remediate()
	expect(t, second, exitRuntime)
	if pid := strconv.Itoa(first.Process.Pid); !strings.Contains(second.out, "pid "+pid) {
		t.Errorf("the second run does not name the holder, pid %s:\n%s", pid, second.out)
	}
	stdin.Write([]byte("no\n"))
	stdin.Close()
	io.Copy(io.Discard, out)
	err = first.Wait()
	if first.ProcessState.ExitCode() != 2 {
		t.Errorf("first run, not confirmed: %v; want exit 2", err)
	}
	if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
		t.Errorf("the host changed: %s", strings.Join(d, "; "))
	}
	if _, err := os.Stat(h.backup); !os.IsNotExist(err) {
		t.Errorf("a backup directory was created (%v)", err)
	}
	if s, err := runstate.Read(h.stateDir, h.Root); err != nil || s.Status != "none" {
		t.Errorf("run state %+v, %v; want none", s, err)
	}
}

func simtestBinary(t *testing.T) string { return simtest.MsguardBinary(t) }

// TestRemediateExternalDirectory upgrades a host whose directory is in
// another server root (DSExternal, served here by a second simulated
// host). msguard cannot run ims_dssetup.pl there: while the directory
// lacks its effects, remediate refuses before changing anything (exit 3);
// once it was run on the directory's host, the upgrade skips every local
// directory step (ds.*, backup.ldif), answers components 1, 3, 4, finds
// post.dssetup done, and passes postflight.
func TestRemediateExternalDirectory(t *testing.T) {
	t.Parallel()
	dir := newHost(t, nil)
	h := newHost(t, func(sc *sim.Scenario) {
		sc.DSExternal, sc.DSExternalURL, sc.DSInstances = true, dir.ldapURL, nil
		sc.DSVersion = "4.16" // upgraded on its own host, as 5.2 needs
	})
	h.ldapURL = dir.ldapURL
	// No local slapd-*: the policies cannot tell the directory's version
	// (preflight.ds.version_unknown, postflight.ds.version): the operator
	// waives them, as contract.md provides.
	waivers := filepath.Join(t.TempDir(), "waivers.yaml")
	w := "waivers:\n"
	for _, k := range []string{"preflight.ds.version_unknown", "postflight.ds.version"} {
		w += "  - key: " + k + "\n    reason: the directory is on another host\n    approver: ops@siroe.com\n    expires: 2099-12-31\n"
	}
	if err := os.WriteFile(waivers, []byte(w), 0o600); err != nil {
		t.Fatal(err)
	}
	before := h.content()
	tree := treeState(t, h.Root, runtimePath)

	r := h.remediate("--waivers", waivers)
	expect(t, r, exitNotReady)
	if !strings.Contains(r.out, "ims_dssetup.pl") || !strings.Contains(r.out, "own host") {
		t.Errorf("the refusal does not say where to run ims_dssetup.pl:\n%s", r.out)
	}
	if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
		t.Errorf("the refused run changed the host: %s", strings.Join(d, "; "))
	}

	// ims_dssetup.pl on the directory's own host.
	sc := dir.State.Scenario
	cmd := exec.Command(filepath.Join(h.media, "msg52", "ims_dssetup.pl"))
	cmd.Stdin = strings.NewReader(strings.Join([]string{dir.Root, "", "", sc.Secrets.DirectoryManager, "", "", "", "", ""}, "\n") + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ims_dssetup.pl on the directory's host: %v\n%s", err, out)
	}

	expect(t, h.remediate("--waivers", waivers), exitOK)
	recs := h.journal()
	done, skipped := checkJournal(t, recs)
	for _, id := range []string{"ds.setup", "ds.save_installinf", "ds.dssetup", "backup.ldif"} {
		if !strings.Contains(skipped[id], "another server root or host") {
			t.Errorf("%s: skip reason %q; want the directory on another host", id, skipped[id])
		}
	}
	if !slices.Contains(done, "post.dssetup") || !slices.Contains(done, "msg.setup") {
		t.Errorf("steps done %v; want post.dssetup and msg.setup", done)
	}
	for _, rec := range recs {
		if rec.Step == "post.dssetup" && rec.Kind == remediate.KindDone && rec.Detail["already"] != "true" {
			t.Errorf("post.dssetup ran something instead of finding the directory prepared")
		}
	}
	tr, err := os.ReadFile(filepath.Join(h.backup, "transcripts", "msg.setup.log"))
	if err != nil || !strings.Contains(string(tr), "install [All]: 1, 3, 4\n") {
		t.Errorf("msg.setup was not answered components 1, 3, 4 (%v):\n%s", err, tr)
	}
	expect(t, h.msguard(simtestBinary(t), nil, append([]string{"check", "--phase", "postflight", "--waivers", waivers}, h.common()...)...), exitOK)
	sameContent(t, "after the upgrade", before, h.content())
}

// TestRemediateNeedsRoot runs remediate and backout as an ordinary user:
// each refuses with exit 2 and one line saying root is needed, before it
// creates its state or backup directory; check keeps working (it reads
// what it can and judges, exit 0 or 3, never a usage error).
func TestRemediateNeedsRoot(t *testing.T) {
	t.Parallel()
	h := newHost(t, nil)
	// nobody must reach the binary and the host: a world-readable copy of
	// the binary, and every directory above the server root searchable.
	dir, err := os.MkdirTemp("", "msguard-nonroot-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	bin := filepath.Join(dir, "msguard")
	b, err := os.ReadFile(simtestBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for d := h.Root; d != "/" && d != "/tmp"; d = filepath.Dir(d) {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	const nobody = 65534
	run := func(args ...string) result {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "MSGUARD_BIND_PASSWORD="+h.State.Scenario.Secrets.DirectoryManager,
			"MSGUARD_ADMIN_PASSWORD="+h.State.Scenario.Secrets.ConfigAdmin)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
		out, _ := cmd.CombinedOutput()
		return result{args: args, out: string(out), code: cmd.ProcessState.ExitCode()}
	}
	state := filepath.Join(dir, "state")
	common := []string{"--server-root", h.Root, "--state-dir", state, "--no-progress"}
	for _, args := range [][]string{
		append([]string{"remediate", "--media", h.media, "--backup-dir", h.backup, "--yes"}, common...),
		append([]string{"backout"}, common...),
	} {
		r := run(args...)
		if r.code != 2 || !strings.Contains(r.out, "must run as root") || strings.Count(strings.TrimSpace(r.out), "\n") > 0 {
			t.Errorf("as nobody: want exit 2 and one line saying root is needed; got %s", r)
		}
		for _, p := range []string{state, h.backup} {
			if _, err := os.Stat(p); !os.IsNotExist(err) {
				t.Errorf("%s as nobody created %s (%v)", args[0], p, err)
			}
		}
	}
	if r := run(append([]string{"check", "--phase", "preflight"}, common...)...); r.code != 0 && r.code != 3 {
		t.Errorf("check as nobody: want exit 0 or 3; got %s", r)
	}
}

// TestRemediateHAPreflight: on a Sun Cluster 2.2 host that does not master
// the logical host, and on a Sun Cluster 3 host with a node that cannot be
// reached, remediate refuses to start (exit 3) with the runbook's key,
// naming the master or the node, and touches nothing.
func TestRemediateHAPreflight(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, key, names string
		edit             func(*sim.Scenario)
	}{
		{"sc22 not master", "preflight.ha.not_master", "node-b", func(sc *sim.Scenario) { sc.HA, sc.HAMaster = "sc22", "node-b" }},
		{"sc3 node unreachable", "preflight.ha.node_unreachable", "node-2", func(sc *sim.Scenario) {
			sc.HA, sc.HANodes, sc.HAUnreachable = "sc3", []string{"node-1", "node-2"}, []string{"node-2"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, tt.edit)
			tree := treeState(t, h.Root, runtimePath)
			r := h.remediate()
			expect(t, r, exitNotReady)
			if !strings.Contains(r.out, tt.key) || !strings.Contains(r.out, tt.names) {
				t.Errorf("want %s naming %s:\n%s", tt.key, tt.names, r.out)
			}
			if d := diffMaps(tree, treeState(t, h.Root, runtimePath)); len(d) > 0 {
				t.Errorf("the refused run changed the host: %s", strings.Join(d, "; "))
			}
			if _, err := os.Stat(h.backup); !os.IsNotExist(err) {
				t.Errorf("the refused run created its backup directory (%v)", err)
			}
		})
	}
}
