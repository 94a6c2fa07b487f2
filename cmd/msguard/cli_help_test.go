package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/msguard/msguard/policies"
	"github.com/msguard/msguard/reports"
	"github.com/spf13/cobra"
)

// runCLI runs one msguard command line in-process.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// TestHelpShowsSwitches: every command's --help shows a boolean flag as a
// switch (--quiet), never pflag's --quiet[=true|false].
func TestHelpShowsSwitches(t *testing.T) {
	root := newApp(nil, nil, nil).rootCmd()
	walkCommands(root, func(cmd *cobra.Command) {
		if cmd.Hidden || !cmd.IsAvailableCommand() && cmd != root {
			return
		}
		args := append(strings.Fields(strings.TrimPrefix(cmd.CommandPath(), "msguard")), "--help")
		code, out, errOut := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("msguard %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		if strings.Contains(out, "[=true|false]") || strings.Contains(out, "[=") {
			t.Errorf("msguard %s shows a flag with [=...]:\n%s", strings.Join(args, " "), out)
		}
		if !strings.Contains(out, "  -q, --quiet ") || !strings.Contains(out, "  -h, --help ") {
			t.Errorf("msguard %s: no plain -q, --quiet / -h, --help line:\n%s", strings.Join(args, " "), out)
		}
	})
}

// TestFlagHelpEntries: every entry of flagHelp names a command and a flag
// it has, and its text is what --help prints.
func TestFlagHelpEntries(t *testing.T) {
	root := newApp(nil, nil, nil).rootCmd()
	for path, flags := range flagHelp {
		cmd := findCommand(root, path)
		if cmd == nil {
			t.Errorf("flagHelp: no command %q", path)
			continue
		}
		for name, text := range flags {
			f := cmd.Flags().Lookup(name)
			if f == nil {
				t.Errorf("flagHelp: %s has no flag --%s", path, name)
				continue
			}
			_, out, _ := runCLI(t, append(strings.Fields(path), "--help")...)
			if !strings.Contains(out, text) {
				t.Errorf("msguard %s --help does not show --%s's text %q", path, name, text)
			}
		}
	}
	// The example: remediate's --backup-dir says where the backups and the journal go.
	if _, out, _ := runCLI(t, "remediate", "--help"); !strings.Contains(out, "where the backups and the journal go") {
		t.Errorf("remediate --help: --backup-dir does not say where the backups and the journal go")
	}
}

// complete runs cobra's hidden completion command and returns the
// candidates (without descriptions).
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errOut := runCLI(t, append([]string{cobra.ShellCompNoDescRequestCmd}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d: %s", args, code, errOut)
	}
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, ":") {
			got = append(got, l)
		}
	}
	return got
}

func TestCompletion(t *testing.T) {
	// Phases: what check completes is what check accepts.
	phases := complete(t, "check", "--phase", "")
	if !slices.Equal(phases, []string{"preflight", "quiesce", "postflight"}) {
		t.Errorf("check --phase completes %v", phases)
	}
	for _, p := range policies.Phases {
		code, _, errOut := runCLI(t, "check", "--phase", p, "--snapshot", "/nonexistent/snap.json")
		refused := strings.Contains(errOut, "--phase")
		if refused != !slices.Contains(phases, p) {
			t.Errorf("check --phase %s: exit %d, %q; completed: %v", p, code, errOut, slices.Contains(phases, p))
		}
	}
	// Formats, from the reports package's one list.
	for _, cmd := range [][]string{{"check"}, {"audit"}, {"report"}, {"rehearse"}} {
		if got := complete(t, append(cmd, "--format", "")...); !slices.Equal(got, reports.Formats()) {
			t.Errorf("%v --format completes %v; want %v", cmd, got, reports.Formats())
		}
	}
	if got := complete(t, "audit", "history", "--format", ""); !slices.Equal(got, []string{"text", "json"}) {
		t.Errorf("audit history --format completes %v", got)
	}
	if got := complete(t, "check", "--report", ""); len(got) != len(reports.Formats()) || got[0] != reports.Formats()[0]+"=" {
		t.Errorf("check --report completes %v", got)
	}
	// Finding keys: every key of the embedded policies, once.
	e, err := policies.New(context.Background(), policies.Config{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range e.Rules() {
		if !slices.Contains(want, r.Key) {
			want = append(want, r.Key)
		}
	}
	got := complete(t, "policy", "list", "")
	sort.Strings(got)
	sort.Strings(want)
	if len(want) < 30 || !slices.Equal(got, want) {
		t.Errorf("policy list completes %d keys; want the %d policy keys\ngot  %v\nwant %v", len(got), len(want), got, want)
	}
	if got := complete(t, "policy", "list", want[0], ""); slices.Contains(got, want[0]) {
		t.Errorf("policy list %s offers %s again", want[0], want[0])
	}
}

func TestVersionJSONMatchesText(t *testing.T) {
	code, out, _ := runCLI(t, "version", "--json")
	if code != 0 {
		t.Fatalf("version --json: exit %d", code)
	}
	var info buildinfo.Info
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("version --json: %v\n%s", err, out)
	}
	if info != buildinfo.Read() {
		t.Errorf("version --json = %+v; want %+v", info, buildinfo.Read())
	}
	_, text, _ := runCLI(t, "version")
	_, flag, _ := runCLI(t, "--version")
	if text != flag || !strings.HasPrefix(text, "msguard "+info.Version+" ("+info.GoVersion+", ") {
		t.Errorf("version printed %q, --version %q", text, flag)
	}
}

func TestPolicyListKeys(t *testing.T) {
	code, out, errOut := runCLI(t, "policy", "list", "preflight.queue.held", "audit.disk.alarm")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 3 || !strings.HasPrefix(lines[1], "audit.disk.alarm ") || !strings.HasPrefix(lines[2], "preflight.queue.held ") {
		t.Errorf("policy list KEY KEY: exit %d\n%s%s", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "policy", "list", "preflight.nosuch")
	if code != 2 || errOut != "msguard: policy list: no policy has the key \"preflight.nosuch\" (msguard policy list prints them all)\n" {
		t.Errorf("policy list of an unknown key: exit %d, %q", code, errOut)
	}
}

// TestGenMan: the hidden gen-man writes a page per command, the same bytes
// twice.
func TestGenMan(t *testing.T) {
	dirs := []string{t.TempDir(), t.TempDir()}
	for _, d := range dirs {
		if code, _, errOut := runCLI(t, "gen-man", d); code != 0 {
			t.Fatalf("gen-man: exit %d: %s", code, errOut)
		}
	}
	for _, page := range []string{"msguard.1", "msguard-check.1", "msguard-remediate.1", "msguard-audit-history.1", "msguard-version.1"} {
		a, err := os.ReadFile(filepath.Join(dirs[0], page))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(filepath.Join(dirs[1], page))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs between two runs", page)
		}
		if !bytes.Contains(a, []byte(".TH \"MSGUARD")) {
			t.Errorf("%s is not a man page:\n%s", page, a)
		}
	}
	if page, _ := os.ReadFile(filepath.Join(dirs[0], "msguard.1")); !bytes.Contains(page, []byte("130  interrupted (SIGINT/SIGTERM)")) {
		t.Errorf("msguard.1 lacks the exit codes:\n%s", page)
	}
	if _, err := os.Stat(filepath.Join(dirs[0], "msguard-gen-man.1")); err == nil {
		t.Error("the hidden gen-man has a man page")
	}
}
