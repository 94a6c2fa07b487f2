package media

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/tree"
)

// TestSetupDropsSiteLines: setup -k moves imta/config and html into
// backup.<timestamp> with the site lines of Scenario.IMTACustomizations
// and writes the 5.2 files without them.
func TestSetupDropsSiteLines(t *testing.T) {
	tr := newTestRoot(t, func(sc *sim.Scenario) { sc.IMTACustomizations = true })
	if err := tree.WriteIMTAConfig(tr.st, true); err != nil {
		t.Fatal(err)
	}
	if err := tree.WriteHTML(tr.st, true); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, newFakeDirectory("ServiceAdmin").env(), msgSetup, tr.media, []string{"-k"}, runbookAnswers(tr.root, "1, 2, 3, 4")...)
	if err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	inst := tr.st.Paths().Inst()
	backup := filepath.Join(inst, "backup.20020916103000")
	files := tree.CustomizedFiles(&tr.st.Scenario)
	if len(files) != 4 {
		t.Fatalf("CustomizedFiles = %v, want 4 files", files)
	}
	for _, rel := range files {
		line := tree.SiteLines()[rel]
		t.Run(rel, func(t *testing.T) {
			old, err := os.ReadFile(filepath.Join(backup, filepath.FromSlash(rel)))
			if err != nil || !hasLine(string(old), line) {
				t.Errorf("backup copy lacks the site line %q (err %v):\n%s", line, err, old)
			}
			cur, err := os.ReadFile(filepath.Join(inst, filepath.FromSlash(rel)))
			if err != nil {
				t.Fatalf("setup wrote no 5.2 %s: %v", rel, err)
			}
			if hasLine(string(cur), line) {
				t.Errorf("the 5.2 %s kept the site line %q", rel, line)
			}
			if len(cur) == 0 || string(cur) == string(old) {
				t.Errorf("the 5.2 %s is empty or the old file", rel)
			}
		})
	}
}

func hasLine(text, line string) bool {
	for _, l := range strings.Split(text, "\n") {
		if l == line {
			return true
		}
	}
	return false
}

// TestSilentInstallers: each installer named in FailSpec.Silent goes
// through its whole dialogue, prints its success lines, exits 0 and
// changes nothing.
func TestSilentInstallers(t *testing.T) {
	tests := []struct {
		tool    string
		edit    func(*sim.Scenario)
		body    installerBody
		args    []string
		answers func(root string) []string
		success string
		check   func(t *testing.T, tr *testRoot, fd *fakeDirectory)
	}{
		{
			tool: sim.SilentSetup, body: msgSetup, args: []string{"-k"},
			answers: func(root string) []string { return runbookAnswers(root, "1, 2, 3, 4") },
			success: "Installation complete.\n",
			check: func(t *testing.T, tr *testRoot, _ *fakeDirectory) {
				p := tr.st.Paths()
				if st := reload(t, tr.root); st.MsgVersion != "5.1" || st.DSVersion != "4.13" {
					t.Errorf("versions %q %q, want 5.1 and 4.13 unchanged", st.MsgVersion, st.DSVersion)
				}
				if exists(filepath.Join(p.Inst(), "backup.20020916103000")) {
					t.Errorf("silent setup made a backup directory")
				}
				for _, f := range []string{"config/msg.conf", "config/local.conf", "imta/config/imta.cnf", "html/en/main.html"} {
					if !exists(filepath.Join(p.Inst(), f)) {
						t.Errorf("silent setup moved %s", f)
					}
				}
				if b, _ := os.ReadFile(filepath.Join(p.MsgLib(), "stored")); string(b) != "old binary\n" {
					t.Errorf("silent setup replaced the binaries: %q", b)
				}
				if b, _ := os.ReadFile(filepath.Join(tr.root, "setup", "slapd", "slapd.inf")); !strings.Contains(string(b), "Version= 4.13") {
					t.Errorf("slapd.inf changed:\n%s", b)
				}
			},
		},
		{
			tool: sim.SilentIMSDSSetup, body: imsDSSetup,
			answers: func(root string) []string { return []string{root, "", "", testDMPw, "", "", "", "", ""} },
			success: "is ready for iPlanet Messaging Server 5.2.\n",
			check: func(t *testing.T, _ *testRoot, fd *fakeDirectory) {
				if len(fd.applied) != 0 {
					t.Errorf("silent ims_dssetup changed the directory: %v", fd.applied)
				}
			},
		},
		{
			tool: sim.SilentWSSetup, body: wsSetup, edit: func(sc *sim.Scenario) { sc.WebServer = "6.0SP1" },
			answers: func(root string) []string { return []string{"", root, ""} },
			success: "Installation complete.\n",
			check: func(t *testing.T, tr *testRoot, _ *fakeDirectory) {
				if st := reload(t, tr.root); st.WebServer != "6.0SP1" {
					t.Errorf("WebServer %q, want 6.0SP1 unchanged", st.WebServer)
				}
			},
		},
		{
			tool: sim.SilentDASetup, body: daSetup, edit: func(sc *sim.Scenario) { sc.WebServer = "6.0SP2" },
			answers: func(root string) []string { return []string{"", root} },
			success: "Installation complete.\n",
			check: func(t *testing.T, tr *testRoot, _ *fakeDirectory) {
				if st := reload(t, tr.root); st.DA != "" {
					t.Errorf("DA %q, want none", st.DA)
				}
				if exists(filepath.Join(tr.root, "setup", "nda", "nda.inf")) {
					t.Errorf("silent DA setup wrote nda.inf")
				}
				b, _ := os.ReadFile(filepath.Join(tr.root, "https-"+testHost, "config", "servlets.properties"))
				if string(b) != "servlet.nda.code=old\n" {
					t.Errorf("servlets.properties changed: %q", b)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			tr := newTestRoot(t, func(sc *sim.Scenario) {
				if tt.edit != nil {
					tt.edit(sc)
				}
				sc.Fail.Silent = []string{tt.tool}
			})
			fd := newFakeDirectory("ServiceAdmin")
			out, err := run(t, fd.env(), tt.body, tr.media, tt.args, tt.answers(tr.root)...)
			if err != nil || strings.Contains(out, "ERROR") || !strings.HasSuffix(out, tt.success) {
				t.Fatalf("err %v, want success ending in %q:\n%s", err, tt.success, out)
			}
			tt.check(t, tr, fd)
		})
	}
}
