package remediate_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/msguard/msguard/remediate"
	"github.com/msguard/msguard/sim"
)

// The ablation sweep: for every step of each variant's plan, the upgrade
// runs with that step's do replaced by a no-op (msguard built with the
// "ablate" tag, MSGUARD_ABLATE=<step>), as when an installer or a tool
// exits 0 having done nothing. Every such run must be caught, by the
// step's own verify or a later step or gate, and end in a backout (exit
// 5), never in "upgraded" (exit 0).
//
// go test runs ablationSample; MSGUARD_ABLATION=all (make ablate) runs
// every point of every variant and writes the table to
// MSGUARD_ABLATION_TABLE (default: the test log).

// ablationVariant is one host the sweep upgrades.
type ablationVariant struct {
	name string
	edit func(*sim.Scenario)
}

// ablationVariants cover the plan's branches: the reference host (mounted
// store, Web Server and DA upgrades, customisations setup -k drops), the
// three clusters, two directory instances, a DS already at 4.16 with an
// empty queue and a plain-directory store.
var ablationVariants = []ablationVariant{
	{"reference", func(sc *sim.Scenario) {
		sc.WebServer, sc.DA = "6.0SP1", "1.1"
		sc.Store.Mount = true
		sc.Customizations = map[string]string{"service.imap.idletimeout": "45"}
	}},
	{"sc22", func(sc *sim.Scenario) { sc.HA = "sc22" }},
	{"vcs", func(sc *sim.Scenario) { sc.HA = "vcs" }},
	{"sc3", func(sc *sim.Scenario) { sc.HA = "sc3" }},
	{"two-ds", func(sc *sim.Scenario) { sc.DSInstances = []string{"budgie", "config"} }},
	{"ds416-empty-queue", func(sc *sim.Scenario) { sc.DSVersion = "4.16"; sc.Queue = sim.QueueSpec{} }},
}

// ablationSample is what go test runs: one point of each step family
// (stop, ha, backup, ds, msg, post) and the named parts the issue found
// unguarded (the Admin Server start, the ha argument of start-msg).
var ablationSample = map[string][]string{
	"reference": {"stop.admin", "backup.ldif", "backup.ldapsearch", "ds.save_installinf", "ds.dssetup",
		"msg.setup", "post.save_configs", "post.store", "post.webserver", "post.start:start-admin", "post.queue"},
	"sc22":   {"ha.sc22.off", "post.start:ha"},
	"vcs":    {"ha.vcs.offline", "ha.vcs.relink"},
	"sc3":    {"ha.sc3.agent"},
	"two-ds": {"backup.ldif"},
}

// noDo are the steps that have no do to ablate, and why.
var noDo = map[string]string{
	"backup.copy":  "no do: the step is a proof (its verify proves every backup unchanged since its sealed re-read, or re-reads it)",
	"post.maillog": "no do: the step is the postflight gate",
}

// ablationRow is one line of the table.
type ablationRow struct {
	variant, point, caughtBy, detail string
	code                             int
}

var ablateBin once

// ablateBinary returns msguard built with the ablate tag.
func ablateBinary(t *testing.T) string { return taggedBinary(t, &ablateBin, "ablate") }

// ablationPoints lists a plan's points: every step that runs and has a do,
// and the named parts of post.start and post.da.
func ablationPoints(run []string, h *host, ha bool) []string {
	var out []string
	for _, id := range run {
		if _, ok := noDo[id]; ok {
			continue
		}
		out = append(out, id)
		switch id {
		case "post.start":
			out = append(out, "post.start:start-msg", "post.start:start-admin")
			for _, w := range h.webInstances() {
				out = append(out, "post.start:"+w)
			}
			if ha {
				out = append(out, "post.start:ha")
			}
		case "post.da":
			out = append(out, "post.da:uninstall")
		}
	}
	return out
}

// webInstances lists the host's https-* directories (admin included).
func (h *host) webInstances() []string {
	m, _ := filepath.Glob(filepath.Join(h.State.Scenario.WebServerRoot, "https-*"))
	var out []string
	for _, d := range m {
		out = append(out, filepath.Base(d))
	}
	sort.Strings(out)
	return out
}

// caughtBy reads from the journal who noticed the missing effect.
func caughtBy(point string, recs []remediate.Record) (by, detail string) {
	step, _, _ := strings.Cut(point, ":")
	for _, r := range recs {
		if r.Kind != remediate.KindFailed || strings.HasPrefix(r.Step, "backout.") {
			continue
		}
		e := r.Detail["error"]
		switch {
		case strings.Contains(e, "postflight check denies"):
			return "postflight gate", e
		case strings.Contains(e, "quiesce check denies"):
			return "quiesce gate", e
		case r.Step == step && strings.Contains(e, ": verify: "):
			return "own verify", e
		case r.Step == step:
			return "own step", e
		default:
			return "later step " + r.Step, e
		}
	}
	for _, r := range recs {
		if r.Step == step && r.Kind == remediate.KindDone && r.Detail["already"] == "true" {
			return "not needed", "check found the step's effect already there"
		}
	}
	return "NOT CAUGHT", ""
}

// TestAblation runs the sweep (a sample under go test).
func TestAblation(t *testing.T) {
	t.Parallel()
	all := os.Getenv("MSGUARD_ABLATION") == "all"
	var mu sync.Mutex
	var rows []ablationRow
	t.Cleanup(func() { writeAblationTable(t, rows, all) })
	for _, v := range ablationVariants {
		if !all && len(ablationSample[v.name]) == 0 {
			continue
		}
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			points := ablationSample[v.name]
			if all {
				ph := newHost(t, v.edit)
				plan := ph.remediate("--plan")
				expect(t, plan, exitOK)
				run, _ := planSteps(plan.out)
				points = ablationPoints(run, ph, ph.State.Scenario.HA != "none")
				ph.Stop(t)
			}
			ablateBinary(t)
			for _, point := range points {
				t.Run(strings.ReplaceAll(point, ":", "_"), func(t *testing.T) {
					t.Parallel()
					h := newHost(t, v.edit)
					before := h.content()
					r := h.msguard(ablateBinary(t), []string{"MSGUARD_ABLATE=" + point}, h.remediateArgs("--stop-timeout", "10s", "--queue-watch", "10s")...)
					row := ablationRow{variant: v.name, point: point, code: r.code}
					if _, err := os.Stat(filepath.Join(h.backup, "journal.log")); err == nil {
						row.caughtBy, row.detail = caughtBy(point, h.journal())
						if row.caughtBy == "not needed" && h.State.Scenario.HA != "none" && strings.HasPrefix(point, "stop.") {
							row.detail += ": the cluster's switch-off (ha.*) had already stopped these servers"
						}
					} else {
						row.caughtBy, row.detail = "no journal", strings.TrimSpace(tail(r.out, 3))
					}
					mu.Lock()
					rows = append(rows, row)
					mu.Unlock()
					switch {
					case row.caughtBy == "not needed":
						t.Logf("%s on %s: %s", point, v.name, row.detail)
					case r.code == exitOK:
						t.Errorf("%s did nothing and the upgrade still ended with exit 0: not caught\n%s", point, r.out)
					case r.code != exitBackedOut:
						t.Errorf("%s ablated: exit %d; want 5 (caught, host restored)\n%s", point, r.code, r.out)
					default:
						h.restored(h.State.Scenario.DSVersion)
						h.clusterBack()
						sameContent(t, "after the backout", before, h.content())
					}
				})
			}
		})
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// writeAblationTable prints the table (Markdown) to the test log or to
// MSGUARD_ABLATION_TABLE.
func writeAblationTable(t *testing.T, rows []ablationRow, all bool) {
	sort.Slice(rows, func(i, j int) bool {
		vi := slices.IndexFunc(ablationVariants, func(v ablationVariant) bool { return v.name == rows[i].variant })
		vj := slices.IndexFunc(ablationVariants, func(v ablationVariant) bool { return v.name == rows[j].variant })
		if vi != vj {
			return vi < vj
		}
		return rows[i].point < rows[j].point
	})
	var b strings.Builder
	caught, harmless := 0, 0
	fmt.Fprintf(&b, "| variant | ablated | caught by | exit | what was reported |\n|---|---|---|---|---|\n")
	for _, r := range rows {
		switch {
		case r.caughtBy == "not needed":
			harmless++
		case r.code != exitOK && r.caughtBy != "NOT CAUGHT":
			caught++
		}
		d := strings.ReplaceAll(r.detail, "|", "\\|")
		if len(d) > 160 {
			d = d[:160] + "…"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | %s |\n", r.variant, r.point, r.caughtBy, r.code, d)
	}
	for id, why := range noDo {
		fmt.Fprintf(&b, "| all | %s | — | — | %s |\n", id, why)
	}
	fmt.Fprintf(&b, "\n%d ablated runs: %d caught, %d not needed on their variant, %d not caught (sweep: %v)\n",
		len(rows), caught, harmless, len(rows)-caught-harmless, all)
	if path := os.Getenv("MSGUARD_ABLATION_TABLE"); path != "" {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Errorf("write the ablation table: %v", err)
		}
	}
	t.Logf("ablation table:\n%s", b.String())
}
