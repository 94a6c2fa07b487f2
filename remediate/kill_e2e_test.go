package remediate_test

import (
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/media"
)

// killScenario is the host of the kill tests: every step of the runbook
// that a plain (non-HA) host can take runs on it.
func killScenario(sc *sim.Scenario) { sc.WebServer, sc.DA = "6.0SP1", "1.1" }

// defaultKillPoints is the spread `go test` covers: the run's first and
// last journal writes, a stop, each backup boundary that matters (backup
// written but not journaled, store renamed), an installer announced but
// not run and one run but not journaled, the store moved back, and the
// restart.
var defaultKillPoints = []string{
	"journal.after-sync:run-start:",
	"step.after:stop.msg",
	"journal.before-write:done:backup.server_root",
	"step.after:backup.store",
	"journal.after-sync:intent:ds.setup",
	"journal.before-write:done:msg.setup",
	"step.after:post.store",
	"step.before:post.start",
	"journal.before-write:run-end:",
}

// haKillPoints are kills inside the cluster steps, on the cluster hosts
// (go test runs them; MSGUARD_KILL_POINTS=all runs, for each cluster kind,
// every ha.* step killed after its work and after its done record): each ha step is run again after
// the kill, or found done by its check, and the cluster ends as the
// runbook wants it.
var haKillPoints = map[string][]string{
	"sc22": {"step.after:ha.sc22.off", "journal.after-sync:intent:ha.sc22.reinstall"},
	"vcs":  {"journal.before-write:done:ha.vcs.unlink", "journal.after-sync:intent:ha.vcs.relink"},
	"sc3":  {"journal.before-write:done:ha.sc3.agent", "step.after:ha.sc3.off"},
}

// allKillPoints lists every step boundary of the plan (step.before of
// each step, step.after of each step that runs) and, for every step that
// runs, the four journal writes around its intent and done records, and
// the run's first and last records.
func allKillPoints(run []string, skipped map[string]string, order []string) []string {
	var out []string
	for _, id := range order {
		out = append(out, "step.before:"+id)
		if _, skip := skipped[id]; skip {
			continue
		}
		for _, kind := range []string{remediate.KindIntent, remediate.KindDone} {
			out = append(out, "journal.before-write:"+kind+":"+id, "journal.after-sync:"+kind+":"+id)
		}
		out = append(out, "step.after:"+id)
	}
	return append(out, "journal.before-write:run-start:", "journal.after-sync:run-start:",
		"journal.before-write:run-end:", "journal.after-sync:run-end:")
}

// planOrder returns every step id of --plan output in order, skipped ones
// included.
func planOrder(out string) []string {
	var ids []string
	for _, line := range strings.Split(out, "\n") {
		if m := planStep.FindStringSubmatch(line); m != nil {
			ids = append(ids, m[1])
		} else if m := planSkip.FindStringSubmatch(line); m != nil {
			ids = append(ids, m[1])
		}
	}
	return ids
}

// TestRemediateKillAnywhere kills remediate (SIGKILL from a failpoint of
// the failpoints build) at a step boundary or journal write, then runs
// remediate --resume with the normal binary. Every trial must end
// upgraded (exit 0, postflight healthy) or cleanly backed out (exit 5),
// never exit 6; nothing may be lost (users, address book, every mailbox
// and queue file by content); and nothing may be done twice: in the
// journal no step has two done records that did the work (a done record
// with already=true says check found the work done), and no step is
// started (intent) again after a done record.
//
// By default a spread of kill points runs; MSGUARD_KILL_POINTS=all runs
// every point of allKillPoints.
func TestRemediateKillAnywhere(t *testing.T) {
	t.Parallel()
	points := defaultKillPoints
	if os.Getenv("MSGUARD_KILL_POINTS") == "all" {
		ph := newHost(t, killScenario)
		plan := ph.remediate("--plan")
		expect(t, plan, exitOK)
		run, skipped := planSteps(plan.out)
		points = allKillPoints(run, skipped, planOrder(plan.out))
	}
	type trial struct {
		ha, point string
	}
	var trials []trial
	for _, p := range points {
		trials = append(trials, trial{"none", p})
	}
	for _, ha := range []string{"sc22", "vcs", "sc3"} {
		pts := haKillPoints[ha]
		if os.Getenv("MSGUARD_KILL_POINTS") == "all" {
			ph := newHost(t, func(sc *sim.Scenario) { killScenario(sc); sc.HA = ha })
			plan := ph.remediate("--plan")
			expect(t, plan, exitOK)
			run, skipped := planSteps(plan.out)
			pts = nil
			// The cluster steps' two points that matter: the step's work
			// done but not journaled, and journaled.
			for _, p := range allKillPoints(run, skipped, planOrder(plan.out)) {
				if strings.HasPrefix(p, "journal.before-write:done:ha.") || strings.HasPrefix(p, "step.after:ha.") {
					pts = append(pts, p)
				}
			}
			ph.Stop(t)
		}
		for _, p := range pts {
			trials = append(trials, trial{ha, p})
		}
	}
	failpointBinary(t)
	var covered atomic.Int64
	t.Cleanup(func() { t.Logf("kill points covered: %d of %d", covered.Load(), len(trials)) })
	for _, tr := range trials {
		point := tr.point
		name := strings.ReplaceAll(point, "/", "_")
		if tr.ha != "none" {
			name = tr.ha + "_" + name
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			h := newHost(t, func(sc *sim.Scenario) { killScenario(sc); sc.HA = tr.ha })
			before := h.content()
			r := h.msguard(failpointBinary(t), []string{"MSGUARD_FAILPOINT=" + point}, h.remediateArgs()...)
			if !r.killed {
				t.Fatalf("the failpoint %s was not hit: %s", point, r)
			}
			res := h.remediate("--resume")
			recs := h.journal()
			switch res.code {
			case exitOK:
				h.upgraded()
				if s := h.runState(); s != "completed" {
					t.Errorf("run state %q after a resumed upgrade", s)
				}
				sum := remediate.Summarize(recs)
				if sum.Open || len(sum.InDoubt) > 0 || len(sum.Failed) > 0 {
					t.Errorf("journal: open %v, in doubt %v, failed %v", sum.Open, sum.InDoubt, sum.Failed)
				}
			case exitBackedOut:
				t.Logf("backed out: %s", res.out)
				h.restored("4.13")
			default:
				t.Fatalf("resume after a kill at %s: want exit 0 or 5; got %s", point, res)
			}
			h.clusterBack()
			sameContent(t, "after the resume", before, h.content())
			checkNothingTwice(t, recs)
			if !t.Failed() {
				covered.Add(1)
			}
		})
	}
}

// checkNothingTwice fails when a step's work was done twice: two done
// records without already=true, or an intent after a done record.
func checkNothingTwice(t *testing.T, recs []remediate.Record) {
	t.Helper()
	worked := map[string]int{}
	done := map[string]bool{}
	for _, r := range recs {
		switch r.Kind {
		case remediate.KindDone:
			if r.Detail["already"] != "true" {
				worked[r.Step]++
			}
			done[r.Step] = true
		case remediate.KindIntent:
			if done[r.Step] {
				t.Errorf("journal: step %s started again after it was done", r.Step)
			}
		}
	}
	var twice []string
	for s, n := range worked {
		if n > 1 {
			twice = append(twice, s)
		}
	}
	slices.Sort(twice)
	if len(twice) > 0 {
		t.Errorf("journal: steps done twice: %v", twice)
	}
}

// clusterBack checks that a cluster host's data service is under the
// cluster's control again, as before the run: SC 2.2 service on, VCS group
// and mail online with the resource links back, SC 3 resource online.
func (h *host) clusterBack() {
	h.t.Helper()
	st := h.Reload(h.t)
	want := map[string]map[string]string{
		"sc22": {media.SC22Service: "on"},
		"vcs":  {media.VCSGroup: "ONLINE", "mail": "ONLINE", "enabled:mail": "1", "dep:mail->logical_IP": "1", "dep:mail->mountshared": "1"},
		"sc3":  {media.SC3Resource: "Online"},
	}[st.Scenario.HA]
	for k, v := range want {
		if st.Cluster[k] != v {
			h.t.Errorf("cluster %s = %q; want %q (cluster %v)", k, st.Cluster[k], v, st.Cluster)
		}
	}
}
