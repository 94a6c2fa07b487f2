package script

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/policies"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/simtest"
	"github.com/msguard/msguard/sim/tree"
)

// Fields excluded from the parity comparison, and why (README.md, "Hosts where msguard cannot run"
// lists them for operators):
//
//   - collected_at, collectors[*].duration_ms and .partial: when and how
//     long each run took, and the script's own notes on what it cannot do;
//     which collectors failed is compared.
//   - install.this_host: a live run asks the resolver for the host's
//     names, the script reads uname -n, hostname and /etc/hosts (the
//     same-machine verdict is compared).
//   - processes[*].started and .listening: ps -eo on Solaris 8 and
//     busybox gives neither a start time nor sockets.
//   - processes.unreadable of other server roots: the simulated hosts of
//     tests running in parallel start and stop between the two runs, and a
//     process caught exiting has no readable executable.
//   - mounts.filesystems[*].free_bytes: free space changes between the
//     two runs (the test writes to the same filesystem).
//   - queue oldest/newest: ls -l shows minutes; the live value is
//     compared truncated to the minute.
//   - ldap.error: the words of ldapsearch's diagnostics are not those of
//     the Go LDAP client; reachable and bound are compared.
//   - versions sources "smtp greeting", "imap greeting", "http Server
//     header": network probes; the script makes no connection and records
//     them as not gathered.
func normalise(t *testing.T, s *facts.Snapshot) map[string]any {
	t.Helper()
	c := *s
	c.CollectedAt = time.Time{}
	runs := map[string]facts.CollectorRun{}
	for name, r := range s.Collectors {
		runs[name] = facts.CollectorRun{Error: r.Error}
	}
	c.Collectors = runs
	if c.Install != nil {
		in := *c.Install
		in.ThisHost = nil
		c.Install = &in
	}
	if c.Processes != nil {
		p := *c.Processes
		p.Daemons = append([]facts.Process(nil), p.Daemons...)
		for i := range p.Daemons {
			p.Daemons[i].Started, p.Daemons[i].Listening = time.Time{}, nil
		}
		var own []facts.Process
		for _, u := range p.Unreadable {
			if strings.Contains(u.Cmdline, s.ServerRoot+"/") {
				own = append(own, u)
			}
		}
		p.Unreadable = own
		c.Processes = &p
	}
	if c.Mounts != nil {
		m := *c.Mounts
		m.Filesystems = map[string]facts.DiskSpace{}
		for k, d := range c.Mounts.Filesystems {
			d.FreeBytes = 0
			m.Filesystems[k] = d
		}
		c.Mounts = &m
	}
	if c.LDAP != nil {
		l := *c.LDAP
		l.Error = ""
		c.LDAP = &l
	}
	if c.Queue != nil {
		q := *c.Queue
		minute := func(qc *facts.QueueCounts) {
			for _, tp := range []**time.Time{&qc.Oldest, &qc.Newest, &qc.OldestActive} {
				if *tp != nil {
					v := (*tp).Truncate(time.Minute).UTC()
					*tp = &v
				}
			}
		}
		q.Channels = append([]facts.QueueChannel(nil), q.Channels...)
		for i := range q.Channels {
			minute(&q.Channels[i].QueueCounts)
		}
		minute(&q.Total)
		c.Queue = &q
	}
	if c.Versions != nil {
		v := *c.Versions
		for _, pv := range []*facts.ProductVersion{&v.Messaging, &v.Directory, &v.WebServer, &v.DelegatedAdmin} {
			var keep []facts.VersionSource
			for _, src := range pv.Sources {
				switch src.Source {
				case "smtp greeting", "imap greeting", "http Server header":
				default:
					keep = append(keep, src)
				}
			}
			pv.Sources = keep
		}
		c.Versions = &v
	}
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// gnuFreePath builds a PATH directory holding only busybox applets (so
// that GNU find, sed, awk, ps, ls, tar... are unreachable) plus
// ldapsearch, and returns it with the shells to run the script under.
func gnuFreePath(t *testing.T) (string, map[string]string) {
	t.Helper()
	dir := t.TempDir()
	busybox, err := exec.LookPath("busybox")
	if err != nil {
		t.Fatalf("busybox is needed (Debian package busybox): %v", err)
	}
	dash, err := exec.LookPath("dash")
	if err != nil {
		t.Fatalf("dash is needed (Debian package dash): %v", err)
	}
	ldapsearch, err := exec.LookPath("ldapsearch")
	if err != nil {
		t.Fatalf("ldapsearch is needed (Debian package ldap-utils): %v", err)
	}
	out, err := exec.Command(busybox, "--list").Output()
	if err != nil {
		t.Fatalf("busybox --list: %v", err)
	}
	for _, applet := range strings.Fields(string(out)) {
		if err := os.Symlink(busybox, filepath.Join(dir, applet)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(ldapsearch, filepath.Join(dir, "ldapsearch")); err != nil {
		t.Fatal(err)
	}
	return dir, map[string]string{"dash": dash, "busybox sh": filepath.Join(dir, "sh")}
}

// runScript runs the emitted script under shell with PATH only and the
// password file in MSGUARD_BIND_PASSWORD_FILE, and returns its stdout.
func runScript(t *testing.T, shell, script, path, pwFile string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, append([]string{script}, args...)...)
	cmd.Env = []string{"PATH=" + path, "MSGUARD_BIND_PASSWORD_FILE=" + pwFile, "TMPDIR=" + t.TempDir()}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", shell, script, err, stderr.String())
	}
	return stdout.Bytes()
}

// verdicts judges a snapshot in every phase: phase → verdict and the
// sorted "key=severity" findings.
func verdicts(t *testing.T, e *policies.Engine, s *facts.Snapshot, now time.Time) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, phase := range []string{"preflight", "quiesce", "postflight"} {
		res, err := e.Evaluate(context.Background(), policies.Input{Snapshot: s,
			Params: policies.Params{Phase: phase, Now: now.Format(time.RFC3339)}})
		if err != nil {
			t.Fatal(err)
		}
		r := policies.Report(policies.Judgement{Phase: phase, Snapshot: s, Result: res, StartedAt: now})
		var keys []string
		for _, f := range r.Findings {
			keys = append(keys, f.Key+"="+f.Severity)
		}
		sort.Strings(keys)
		out[phase] = r.Verdict + " " + strings.Join(keys, ",")
	}
	return out
}

// TestParity collects every scenario live and through the script (under
// dash and busybox sh, GNU tools out of reach) and compares the
// snapshots, apart from the fields normalise documents, and the verdicts.
func TestParity(t *testing.T) {
	ref, err := sim.LoadScenario(filepath.Join("..", "..", "testdata", "scenarios", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		edit    func(*sim.Scenario)
		start   bool
		prepare func(*testing.T, *simtest.Host)
	}{
		{"reference running", func(s *sim.Scenario) { root := s.Root; *s = ref; s.Root = root }, true, nil},
		{"5.2 ds 4.16 stopped, no webserver, ha sc22", func(s *sim.Scenario) {
			s.MsgVersion, s.DSVersion, s.HA, s.Users, s.PAB = "5.2 HotFix 1.02", "4.16", "sc22", 30, 5
			s.MailLog = sim.MailLogSpec{E: 5, D: 4, R: 1, J: 1, Garbage: 2}
			s.Queue = sim.QueueSpec{Messages: 40, Held: 3, Temp: 2}
			s.IMTACustomizations = true
		}, false, upgradeLike},
		{"sc3 with a node down, stopped", func(s *sim.Scenario) {
			me, _ := os.Hostname()
			me, _, _ = strings.Cut(me, ".")
			s.HA, s.HANodes, s.HAUnreachable = "sc3", []string{me, "kea", "moa"}, []string{"moa"}
		}, false, nil},
		{"sc22 mastered elsewhere, stopped", func(s *sim.Scenario) { s.HA, s.HAMaster = "sc22", "parrot" }, false, nil},
		{"two ds, da 1.2, pab missing, vcs, running", func(s *sim.Scenario) {
			s.DSInstances, s.WebServer, s.DA, s.HA, s.PABMissing = []string{"budgie", "config"}, "6.0SP2", "1.2", "vcs", true
			s.Queue = sim.QueueSpec{Messages: 25, Subdirs: 2}
		}, true, nil},
	}
	pathDir, shells := gnuFreePath(t)
	engine, err := policies.New(context.Background(), policies.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := simtest.New(t, tt.edit)
			if tt.prepare != nil {
				tt.prepare(t, h)
			}
			if tt.start {
				h.Start(t)
			}
			pwFile := h.DMPasswordFile(t)
			stateDir := t.TempDir()
			clusterBin := h.Paths.ClusterBin()
			live, err := collectors.Collect(context.Background(), collectors.Options{
				ServerRoot: h.Root, StateDir: stateDir, Path: clusterBin,
				BindPassword: func() (string, error) { return h.State.Scenario.Secrets.DirectoryManager, nil },
			}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var sh bytes.Buffer
			if err := Emit(&sh, Defaults{ServerRoot: h.Root, StateDir: stateDir}); err != nil {
				t.Fatal(err)
			}
			scriptPath := filepath.Join(t.TempDir(), "collect.sh")
			if err := os.WriteFile(scriptPath, sh.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.prepare != nil {
				checkBackupDiffs(t, live.Configs)
			}
			want := normalise(t, live)
			wantVerdicts := verdicts(t, engine, live, live.CollectedAt)
			// The HA hosts: the preflight.ha.* keys fire where the cluster says so.
			haKeys := map[string]string{"sc3 with a node down, stopped": "preflight.ha.node_unreachable=deny",
				"sc22 mastered elsewhere, stopped": "preflight.ha.not_master=deny"}
			if key, ok := haKeys[tt.name]; ok && !strings.Contains(wantVerdicts["preflight"], key) {
				t.Errorf("preflight %s: want %s", wantVerdicts["preflight"], key)
			} else if !ok && strings.Contains(wantVerdicts["preflight"], "preflight.ha.") {
				t.Errorf("preflight %s: no preflight.ha.* key should fire", wantVerdicts["preflight"])
			}
			for shellName, shell := range shells {
				t.Run(shellName, func(t *testing.T) {
					bundle := runScript(t, shell, scriptPath, pathDir+":"+clusterBin, pwFile)
					for _, secret := range secretsOf(h.State.Scenario.Secrets) {
						if bytes.Contains(bundleText(t, bundle), []byte(secret)) {
							t.Errorf("the bundle holds the secret %q", secret)
						}
					}
					got, err := Ingest(context.Background(), bytes.NewReader(bundle))
					if err != nil {
						t.Fatal(err)
					}
					if g := normalise(t, got); !reflect.DeepEqual(g, want) {
						var diffs []string
						fieldDiff("", want, g, &diffs)
						t.Errorf("ingested snapshot differs from the live one:\n%s", strings.Join(diffs, "\n"))
					}
					if gv := verdicts(t, engine, got, live.CollectedAt); !reflect.DeepEqual(gv, wantVerdicts) {
						t.Errorf("verdicts differ:\ningest %v\nlive   %v", gv, wantVerdicts)
					}
				})
			}
		})
	}
}

// upgradeLike leaves the host as setup -k would (an older backup too):
// config/{msg,local}.conf, imta/config and html moved into the newest
// INST/backup.<timestamp> and written anew without customisations. The
// backup copy also has a file gone now, a binary file that differs, a
// secret line and CRLF lines.
func upgradeLike(t *testing.T, h *simtest.Host) {
	t.Helper()
	inst := h.Paths.Inst()
	backup := filepath.Join(inst, "backup.20020916103000")
	for _, rel := range []string{"config/local.conf", "config/msg.conf", "imta/config", "html"} {
		dst := filepath.Join(backup, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(filepath.Join(inst, filepath.FromSlash(rel)), dst); err != nil {
			t.Fatal(err)
		}
	}
	st := h.State
	for _, w := range []func(*sim.State, bool) error{tree.WriteMsgConfig, tree.WriteIMTAConfig, tree.WriteHTML} {
		if err := w(st, false); err != nil {
			t.Fatal(err)
		}
	}
	write := func(path, body string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sec := st.Scenario.Secrets
	write(filepath.Join(backup, "html", "site", "motd.html"), "<p>Siroe staff only</p>\r\n<p>helpdesk x4411</p>\r\n")
	write(filepath.Join(backup, "html", "logo.gif"), "GIF89a\x00\x01old")
	write(filepath.Join(inst, "html", "logo.gif"), "GIF89a\x00\x01new")
	opt := filepath.Join(backup, "imta", "config", "option.dat")
	b, err := os.ReadFile(opt)
	if err != nil {
		t.Fatal(err)
	}
	write(opt, string(b)+"LDAP_PASSWORD="+sec.UGBindCred+"\r\nLDAP_URL=ldap://admin:"+sec.ConfigAdmin+"@localhost/\n")
	write(filepath.Join(inst, "backup.20010101000000", "imta", "config", "aliases"), "old: older\n")
}

// checkBackupDiffs: the live collector saw what upgradeLike did.
func checkBackupDiffs(t *testing.T, c *facts.Configs) {
	t.Helper()
	if c == nil {
		t.Fatal("no configs facts")
	}
	const b = "msg-budgie/backup.20020916103000"
	lines := func(l ...string) facts.BackupDiff {
		return facts.BackupDiff{Backup: b, State: facts.BackupLinesMissing, Missing: l, MissingTotal: len(l)}
	}
	site := tree.SiteLines()
	want := map[string]facts.BackupDiff{
		"html/logo.gif":          {Backup: b, State: facts.BackupBinaryDiffers},
		"html/login.html":        lines(site["html/login.html"]),
		"html/site/motd.html":    {Backup: b, State: facts.BackupFileAbsent},
		"imta/config/aliases":    lines(site["imta/config/aliases"]),
		"imta/config/imta.cnf":   lines(site["imta/config/imta.cnf"]),
		"imta/config/mappings":   lines(site["imta/config/mappings"]),
		"imta/config/option.dat": lines("LDAP_PASSWORD=<redacted>", "LDAP_URL=ldap://admin:<redacted>@localhost/"),
	}
	got := map[string]facts.BackupDiff{}
	for _, d := range c.BackupDiffs {
		name := d.Name
		d.Name = ""
		got[name] = d
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("backup diffs:\n%+v\nwant\n%+v", got, want)
	}
}

func secretsOf(s sim.Secrets) []string {
	return []string{s.DirectoryManager, s.ConfigAdmin, s.ServiceAdmin, s.UGBindCred, s.PABPassword}
}

// bundleText is the text inside a bundle (gunzipped and untarred).
func bundleText(t *testing.T, b []byte) []byte {
	t.Helper()
	br, err := openBundle(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := out.ReadFrom(br); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// fieldDiff lists the paths at which the JSON values a and b differ.
func fieldDiff(p string, a, b any, out *[]string) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		keys := map[string]bool{}
		for k := range am {
			keys[k] = true
		}
		for k := range bm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			fieldDiff(p+"/"+k, am[k], bm[k], out)
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			fieldDiff(fmt.Sprintf("%s/%d", p, i), al[i], bl[i], out)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		aj, _ := json.Marshal(a)
		bj, _ := json.Marshal(b)
		*out = append(*out, fmt.Sprintf("%s: live %.300s, ingest %.300s", p, aj, bj))
	}
}
