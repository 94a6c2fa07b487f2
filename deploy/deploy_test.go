// Package deploy_test checks the deployment files of deploy/ against the real
// tools that consume them: systemd-analyze for the units, dash for the CI gate,
// ansible-playbook for the role (run against two simulated hosts on this
// machine), and the msguard binary for the flags they use.
package deploy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	junit "github.com/joshdk/go-junit"
	"gopkg.in/yaml.v3"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/simtest"
)

// installedBinary is where the units and the cron line expect msguard.
const installedBinary = "/usr/local/bin/msguard"

// need returns the path of a program the test needs, failing with the Debian
// package to install when it is missing (`make deps` installs them all).
func need(t *testing.T, prog, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(prog)
	if err != nil {
		t.Fatalf("%s not found: install the Debian package %q (make deps)", prog, pkg)
	}
	return p
}

// run runs a command with a time limit and returns its exit code and its
// combined output; an error other than a non-zero exit fails the test.
func run(t *testing.T, limit time.Duration, env []string, dir, name string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case ctx.Err() != nil:
		t.Fatalf("%s %s: still running after %v\n%s", name, strings.Join(args, " "), limit, out.String())
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	default:
		t.Fatalf("%s: %v", name, err)
	}
	return -1, ""
}

// unit is a parsed systemd unit file: section → key → values in file order
// (a key may repeat).
type unit map[string]map[string][]string

// parseUnit reads a unit file; comments and blank lines are skipped.
func parseUnit(t *testing.T, path string) unit {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	u := unit{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
			u[section] = map[string][]string{}
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || section == "" {
				t.Fatalf("%s: bad line %q", path, line)
			}
			u[section][k] = append(u[section][k], v)
		}
	}
	return u
}

// get returns the last value of section.key ("" when unset).
func (u unit) get(section, key string) string {
	vs := u[section][key]
	if len(vs) == 0 {
		return ""
	}
	return vs[len(vs)-1]
}

// words returns every space-separated value of section.key.
func (u unit) words(section, key string) []string {
	var out []string
	for _, v := range u[section][key] {
		out = append(out, strings.Fields(v)...)
	}
	return out
}

// flagValue returns the value of --name in args ("" when absent).
func flagValue(args []string, name string) string {
	for i, a := range args {
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}

// under reports whether path is dir or inside it.
func under(path, dir string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, "../")
}

// copyUnits copies the units to a fresh directory with ExecStart's binary
// replaced by bin, applies edit to the service text, and returns the paths.
func copyUnits(t *testing.T, bin string, edit func(service, timer string) (string, string)) (string, string) {
	t.Helper()
	dir := t.TempDir()
	svc, err := os.ReadFile(filepath.Join("systemd", "msguard-audit.service"))
	if err != nil {
		t.Fatal(err)
	}
	tmr, err := os.ReadFile(filepath.Join("systemd", "msguard-audit.timer"))
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(svc), "ExecStart="+installedBinary+" ", "ExecStart="+bin+" ")
	tm := string(tmr)
	if edit != nil {
		s, tm = edit(s, tm)
	}
	sp, tp := filepath.Join(dir, "msguard-audit.service"), filepath.Join(dir, "msguard-audit.timer")
	if err := os.WriteFile(sp, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tp, []byte(tm), 0o644); err != nil {
		t.Fatal(err)
	}
	return sp, tp
}

// TestSystemdVerify runs systemd-analyze verify on the units with ExecStart
// pointing at a freshly built msguard. Any message is a failure: an unknown
// key is only a warning with exit 0. The broken copies keep the check honest.
func TestSystemdVerify(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	bin := simtest.MsguardBinary(t)
	tests := []struct {
		name   string
		edit   func(service, timer string) (string, string)
		wantOK bool
		want   string // in the output when !wantOK
	}{
		{name: "as shipped", wantOK: true},
		{
			name: "binary missing",
			edit: func(s, tm string) (string, string) {
				return strings.ReplaceAll(s, "ExecStart="+bin, "ExecStart="+bin+"-missing"), tm
			},
			want: "is not executable",
		},
		{
			name: "misspelt hardening key",
			edit: func(s, tm string) (string, string) {
				return strings.ReplaceAll(s, "ProtectHome=yes", "ProtectHom=yes"), tm
			},
			want: "Unknown key",
		},
		{
			name: "bad calendar",
			edit: func(s, tm string) (string, string) {
				return s, regexp.MustCompile(`(?m)^OnCalendar=.*$`).ReplaceAllString(tm, "OnCalendar=nightly-ish")
			},
			want: "Failed to parse calendar",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			svc, tmr := copyUnits(t, bin, tc.edit)
			code, out := run(t, time.Minute, nil, filepath.Dir(svc), analyze, "verify", "--man=no", svc, tmr)
			ok := code == 0 && strings.TrimSpace(out) == ""
			if ok != tc.wantOK {
				t.Fatalf("systemd-analyze verify: exit %d, output %q; want ok=%v", code, out, tc.wantOK)
			}
			if !tc.wantOK && !strings.Contains(out, tc.want) {
				t.Errorf("systemd-analyze verify output %q lacks %q", out, tc.want)
			}
		})
	}
}

// TestSystemdSecurity keeps the hardening from regressing: systemd-analyze
// security must rate the service at most 3.0 ("OK"); it is 2.6 as shipped.
func TestSystemdSecurity(t *testing.T) {
	analyze := need(t, "systemd-analyze", "systemd")
	svc, _ := copyUnits(t, simtest.MsguardBinary(t), nil)
	code, out := run(t, time.Minute, nil, filepath.Dir(svc), analyze, "security", "--offline=true", "--threshold=30", svc)
	if code != 0 {
		t.Fatalf("systemd-analyze security: exit %d (exposure above 3.0?)\n%s", code, out)
	}
}

// TestSystemdUnitSettings checks what the brief asks of the units, and that
// every path the audit writes is writable under ProtectSystem=strict.
func TestSystemdUnitSettings(t *testing.T) {
	svc := parseUnit(t, filepath.Join("systemd", "msguard-audit.service"))
	tmr := parseUnit(t, filepath.Join("systemd", "msguard-audit.timer"))
	tests := []struct {
		u                  unit
		section, key, want string
	}{
		{svc, "Service", "Type", "oneshot"},
		{svc, "Service", "User", "root"},
		{svc, "Service", "ProtectSystem", "strict"},
		{svc, "Service", "ProtectHome", "yes"},
		{svc, "Service", "PrivateTmp", "yes"},
		{svc, "Service", "NoNewPrivileges", "yes"},
		{svc, "Service", "ReadOnlyPaths", "/etc/msguard"},
		{tmr, "Timer", "Persistent", "true"},
		{tmr, "Timer", "RandomizedDelaySec", "30min"},
		{tmr, "Timer", "OnCalendar", "*-*-* 02:30:00"},
		{tmr, "Timer", "Unit", "msguard-audit.service"},
		{tmr, "Install", "WantedBy", "timers.target"},
	}
	for _, tc := range tests {
		if got := tc.u.get(tc.section, tc.key); got != tc.want {
			t.Errorf("[%s] %s = %q; want %q", tc.section, tc.key, got, tc.want)
		}
	}

	args := strings.Fields(svc.get("Service", "ExecStart"))
	wantArgs := strings.Fields(installedBinary + " audit --server-root /usr/iplanet/server5 --bind-password-file /etc/msguard/bind.pw" +
		" --history /var/lib/msguard/history --metrics-file /var/lib/node_exporter/textfile/msguard.prom" +
		" --report json=/var/lib/msguard/last-audit.json -q")
	if strings.Join(args, " ") != strings.Join(wantArgs, " ") {
		t.Errorf("ExecStart = %q; want %q", strings.Join(args, " "), strings.Join(wantArgs, " "))
	}
	_, report, _ := strings.Cut(flagValue(args, "--report"), "=")
	writes := []string{
		flagValue(args, "--history"),
		filepath.Dir(flagValue(args, "--metrics-file")),
		filepath.Dir(report),
		"/var/lib/msguard", // --state-dir's default: lock and journal pointer
	}
	rw := svc.words("Service", "ReadWritePaths")
	for _, sd := range svc.words("Service", "StateDirectory") {
		rw = append(rw, filepath.Join("/var/lib", sd))
	}
	for _, w := range writes {
		ok := false
		for _, d := range rw {
			ok = ok || under(w, strings.TrimPrefix(d, "-"))
		}
		if !ok {
			t.Errorf("the audit writes %s, which is not under ReadWritePaths/StateDirectory %v", w, rw)
		}
	}
	pw := flagValue(args, "--bind-password-file")
	ro := false
	for _, d := range svc.words("Service", "ReadOnlyPaths") {
		ro = ro || under(pw, d)
	}
	for _, d := range rw {
		if under(pw, d) {
			t.Errorf("the password file %s is writable (under %s)", pw, d)
		}
	}
	if !ro {
		t.Errorf("the password file %s is not under ReadOnlyPaths", pw)
	}
}

// TestAuditFlags checks that msguard audit accepts every flag the unit and
// the cron line use, and that the README's cron line runs the unit's command.
func TestAuditFlags(t *testing.T) {
	svc := parseUnit(t, filepath.Join("systemd", "msguard-audit.service"))
	execStart := svc.get("Service", "ExecStart")
	readme, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	var cron string
	for _, l := range strings.Split(string(readme), "\n") {
		if regexp.MustCompile(`^[0-9*,/-]+ [0-9*,/-]+ \S+ \S+ \S+ root `).MatchString(l) {
			cron = l
		}
	}
	if !strings.HasSuffix(cron, "; "+execStart) {
		t.Errorf("README's cron line %q does not run the unit's ExecStart %q", cron, execStart)
	}

	code, help := run(t, time.Minute, nil, "", simtest.MsguardBinary(t), "audit", "--help")
	if code != 0 {
		t.Fatalf("msguard audit --help: exit %d (is cmd/msguard/cmd_audit.go built in?)\n%s", code, help)
	}
	for _, a := range strings.Fields(execStart)[2:] {
		if !strings.HasPrefix(a, "-") {
			continue
		}
		name, _, _ := strings.Cut(a, "=")
		re := regexp.MustCompile(`(?m)^\s+(-\w, )?` + regexp.QuoteMeta(name) + `\b`)
		if name == "-q" {
			re = regexp.MustCompile(`(?m)^\s+-q, --quiet\b`)
		}
		if !re.MatchString(help) {
			t.Errorf("msguard audit --help does not list %s", name)
		}
	}
}

// gateRun is one run of ci/gate.sh under dash.
type gateRun struct {
	code int
	out  string
	dir  string // its report directory
}

// runGate runs deploy/ci/gate.sh under dash in a fresh directory.
func runGate(t *testing.T, env []string, args ...string) gateRun {
	t.Helper()
	dash := need(t, "dash", "dash")
	gate, err := filepath.Abs(filepath.Join("ci", "gate.sh"))
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	reports := filepath.Join(work, "reports")
	code, out := run(t, 2*time.Minute, env, work, dash, append([]string{gate, "-o", reports}, args...)...)
	return gateRun{code, out, reports}
}

func TestGate(t *testing.T) {
	bin := simtest.MsguardBinary(t)
	ready, err := filepath.Abs(filepath.Join("testdata", "ready51.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	upgraded, err := filepath.Abs(filepath.Join("testdata", "upgraded.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	msguardEnv := []string{"MSGUARD=" + bin}
	tests := []struct {
		name     string
		env      []string
		args     []string
		wantCode int
		wantLine string // the whole output: one line
		reports  bool   // the report files are written
	}{
		{"pass", msguardEnv, []string{"--", "--snapshot", ready}, 0,
			`^msguard gate: PASS: verdict ready: 0 deny, 5 warn, 0 error, 0 waived, \d+ pass$`, true},
		{"warn-only", msguardEnv, []string{"--snapshot", ready, "--fail-on-warn"}, 4,
			`^msguard gate: WARN: verdict ready: 0 deny, 5 warn, 0 error, 0 waived, \d+ pass \(--fail-on-warn\)$`, true},
		{"fail", msguardEnv, []string{"--", "--snapshot", upgraded}, 3,
			`^msguard gate: FAIL: verdict not_ready: 1 deny, 0 warn, 0 error, 0 waived, \d+ pass$`, true},
		{"msguard usage error", msguardEnv, []string{"--", "--snapshot", "nope.json"}, 1,
			`(?s)snapshot nope.json: no such file or directory.*\nmsguard gate: ERROR: msguard exited 2 \(see its message above\)$`, false},
		{"msguard missing", []string{"MSGUARD=/nonexistent/msguard"}, []string{"--snapshot", ready}, 1,
			`^msguard gate: ERROR: msguard binary not found: /nonexistent/msguard \(set MSGUARD\)$`, false},
		{"no arguments", msguardEnv, nil, 2, `^usage: gate.sh `, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := runGate(t, tc.env, tc.args...)
			if g.code != tc.wantCode {
				t.Errorf("gate.sh exit %d; want %d\n%s", g.code, tc.wantCode, g.out)
			}
			if !regexp.MustCompile(tc.wantLine).MatchString(strings.TrimRight(g.out, "\n")) {
				t.Errorf("gate.sh output %q does not match %q", g.out, tc.wantLine)
			}
			if !tc.reports {
				return
			}
			for _, name := range []string{"preflight.txt", "preflight.json", "preflight.xml", "preflight.sarif", "preflight.md"} {
				if st, err := os.Stat(filepath.Join(g.dir, name)); err != nil || st.Size() == 0 {
					t.Errorf("gate.sh did not write %s: %v", name, err)
				}
			}
			suites, err := junit.IngestFile(filepath.Join(g.dir, "preflight.xml"))
			if err != nil || len(suites) == 0 || suites[0].Name != "preflight" {
				t.Errorf("preflight.xml is not a preflight JUnit report: %v", err)
			}
			f, err := os.Open(filepath.Join(g.dir, "preflight.json"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r, err := judgement.DecodeReport(f)
			if err != nil || r.ExitCode != tc.wantCode {
				t.Errorf("preflight.json: %v, exit_code %v; want %d", err, r, tc.wantCode)
			}
		})
	}
}

// TestGateGitHubActions: under GitHub Actions the summary is an annotation
// and the Markdown report goes to the job summary.
func TestGateGitHubActions(t *testing.T) {
	ready, err := filepath.Abs(filepath.Join("testdata", "upgraded.snapshot.json"))
	if err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(t.TempDir(), "step-summary.md")
	g := runGate(t, []string{"MSGUARD=" + simtest.MsguardBinary(t), "GITHUB_ACTIONS=true", "GITHUB_STEP_SUMMARY=" + summary},
		"--snapshot", ready)
	if g.code != 3 {
		t.Fatalf("gate.sh exit %d; want 3\n%s", g.code, g.out)
	}
	if !regexp.MustCompile(`(?m)^::error title=msguard preflight::msguard gate: FAIL: verdict not_ready: `).MatchString(g.out) {
		t.Errorf("no error annotation in %q", g.out)
	}
	md, err := os.ReadFile(summary)
	if err != nil || !bytes.HasPrefix(md, []byte("# msguard preflight report")) {
		t.Errorf("job summary: %v, %.80q; want the Markdown report", err, md)
	}
}

// TestGitHubWorkflow checks that the example workflow runs gate.sh and
// publishes the JUnit and SARIF files gate.sh writes.
func TestGitHubWorkflow(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("ci", "github-actions.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wf struct {
		Permissions map[string]string `yaml:"permissions"`
		Jobs        map[string]struct {
			Steps []struct {
				Name string            `yaml:"name"`
				Uses string            `yaml:"uses"`
				Run  string            `yaml:"run"`
				If   string            `yaml:"if"`
				With map[string]string `yaml:"with"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatalf("github-actions.yml: %v", err)
	}
	for k, v := range map[string]string{"security-events": "write", "checks": "write"} {
		if wf.Permissions[k] != v {
			t.Errorf("permissions.%s = %q; want %q", k, wf.Permissions[k], v)
		}
	}
	job, ok := wf.Jobs["preflight"]
	if !ok {
		t.Fatal("no preflight job")
	}
	dir := ""
	uses := map[string]map[string]string{}
	for _, s := range job.Steps {
		if strings.Contains(s.Run, "deploy/ci/gate.sh") {
			dir = flagValue(strings.Fields(s.Run), "-o")
		}
		if s.Uses != "" {
			name, _, _ := strings.Cut(s.Uses, "@")
			uses[name] = s.With
			if name != "actions/checkout" && !strings.Contains(s.If, "!cancelled()") {
				t.Errorf("step %q does not run after a failed gate (if: %q)", s.Name, s.If)
			}
		}
	}
	if dir == "" {
		t.Fatal("no step runs deploy/ci/gate.sh -o DIR")
	}
	tests := []struct{ action, key, want string }{
		{"dorny/test-reporter", "path", dir + "/preflight.xml"},
		{"dorny/test-reporter", "reporter", "java-junit"},
		{"github/codeql-action/upload-sarif", "sarif_file", dir + "/preflight.sarif"},
	}
	for _, tc := range tests {
		if got := uses[tc.action][tc.key]; got != tc.want {
			t.Errorf("%s with.%s = %q; want %q", tc.action, tc.key, got, tc.want)
		}
	}
}

// fleetHost is one simulated host of the Ansible test.
type fleetHost struct {
	inventory string // inventory_hostname
	fqdn      string // install.inf FullMachineName: the report's host
	password  string // its cn=Directory Manager password
	msg, ds   string // Messaging and Directory Server versions
	wantCode  int    // msguard check --phase preflight's exit code
	sim       *simtest.Host
	base      string // per-host binary, etc and state directories
}

// TestAnsibleFleet runs site.yml against two simulated hosts on this machine
// (ansible_connection=local), each with its own server root and a vaulted
// password, and checks the fetched reports and the merged JUnit file.
func TestAnsibleFleet(t *testing.T) {
	playbook := need(t, "ansible-playbook", "ansible")
	vault := need(t, "ansible-vault", "ansible")
	bin := simtest.MsguardBinary(t)
	self, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	hosts := []*fleetHost{
		// install.inf names this machine: ready with warnings (exit 0).
		{inventory: "mail1.siroe.com", fqdn: self, password: "dm-Mail1-Secret-4471", msg: "5.1", ds: "4.13", wantCode: 0},
		// Another name and already upgraded: not ready (exit 3), which the
		// role must record as a result, not a failure.
		{inventory: "mail2.siroe.com", fqdn: "mail2.siroe.com", password: "dm-Mail2-Secret-9102", msg: "5.2", ds: "4.16", wantCode: 3},
	}
	for _, h := range hosts {
		h.sim = simtest.New(t, func(sc *sim.Scenario) {
			sc.Host, sc.MsgVersion, sc.DSVersion = h.fqdn, h.msg, h.ds
			sc.Secrets.DirectoryManager = h.password
		})
		h.sim.Start(t)
		h.base = t.TempDir()
	}

	// The example inventory, its /srv/sim/mailN paths replaced by each
	// simulated host's server root and directories.
	example, err := os.ReadFile(filepath.Join("ansible", "inventory.example.ini"))
	if err != nil {
		t.Fatal(err)
	}
	inv := string(example)
	work := t.TempDir()
	fetched := filepath.Join(work, "fetched")
	if err := os.MkdirAll(filepath.Join(work, "host_vars"), 0o700); err != nil {
		t.Fatal(err)
	}
	for i, h := range hosts {
		simDir := fmt.Sprintf("/srv/sim/mail%d", i+1)
		if !strings.Contains(inv, h.inventory+" ansible_connection=local msguard_server_root="+simDir+"/server5 ") {
			t.Fatalf("inventory.example.ini has no local host %s with server root %s/server5", h.inventory, simDir)
		}
		inv = strings.ReplaceAll(inv, simDir+"/server5", h.sim.Root)
		inv = strings.ReplaceAll(inv, simDir+"/", h.base+"/")
		// The password in host_vars, encrypted below as a vault.
		if err := os.WriteFile(filepath.Join(work, "host_vars", h.inventory+".yml"), []byte("msguard_bind_password: "+h.password+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(inv, "/srv/sim/") {
		t.Fatalf("inventory.example.ini names a /srv/sim path of no simulated host:\n%s", inv)
	}
	if err := os.WriteFile(filepath.Join(work, "inventory.ini"), []byte(inv), 0o644); err != nil {
		t.Fatal(err)
	}
	vaultPass := filepath.Join(work, "vault.pass")
	if err := os.WriteFile(vaultPass, []byte("vault-test-pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := filepath.Abs(filepath.Join("ansible", "ansible.cfg"))
	if err != nil {
		t.Fatal(err)
	}
	site, err := filepath.Abs(filepath.Join("ansible", "site.yml"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		"ANSIBLE_CONFIG=" + cfg, "ANSIBLE_HOME=" + filepath.Join(work, "ansible-home"),
		"ANSIBLE_LOCAL_TEMP=" + filepath.Join(work, "tmp-local"), "ANSIBLE_REMOTE_TEMP=" + filepath.Join(work, "tmp-remote"),
		"ANSIBLE_NOCOLOR=1", "ANSIBLE_FORCE_COLOR=0", "ANSIBLE_STDOUT_CALLBACK=default",
	}
	code, out := run(t, time.Minute, env, work, vault, "encrypt", "--vault-password-file", vaultPass,
		filepath.Join("host_vars", hosts[0].inventory+".yml"), filepath.Join("host_vars", hosts[1].inventory+".yml"))
	if code != 0 {
		t.Fatalf("ansible-vault encrypt: exit %d\n%s", code, out)
	}

	code, out = run(t, 2*time.Minute, env, work, playbook, "-v", "-i", "inventory.ini", "--vault-password-file", vaultPass,
		"-e", "msguard_binary_src="+bin, "-e", "msguard_fetch_dir="+fetched, site)
	if code != 0 {
		t.Fatalf("ansible-playbook: exit %d\n%s", code, out)
	}
	t.Logf("ansible-playbook:\n%s", out)
	for _, h := range hosts {
		if strings.Contains(out, h.password) {
			t.Errorf("ansible-playbook -v printed %s's bind password", h.inventory)
		}
	}
	if !regexp.MustCompile(`fleet verdict not_ready: 2 reports, 2 hosts: .*; exit code 3`).MatchString(out) {
		t.Errorf("the controller play did not show the fleet table")
	}

	for _, h := range hosts {
		pw := filepath.Join(h.base, "etc", "bind.pw")
		st, err := os.Stat(pw)
		if err != nil {
			t.Fatalf("%s: password file: %v", h.inventory, err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: %s mode %v; want 0600", h.inventory, pw, st.Mode().Perm())
		}
		if got, _ := os.ReadFile(pw); string(got) != h.password {
			t.Errorf("%s: password file holds the wrong password", h.inventory)
		}
		f, err := os.Open(filepath.Join(fetched, h.inventory+".check-preflight.json"))
		if err != nil {
			t.Fatalf("%s: fetched report: %v", h.inventory, err)
		}
		r, err := judgement.DecodeReport(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: fetched report: %v", h.inventory, err)
		}
		if r.Host != h.fqdn || r.ServerRoot != h.sim.Root || r.Phase != "preflight" || r.ExitCode != h.wantCode {
			t.Errorf("%s: report of host %q, root %q, phase %q, exit %d; want %q, %q, preflight, %d",
				h.inventory, r.Host, r.ServerRoot, r.Phase, r.ExitCode, h.fqdn, h.sim.Root, h.wantCode)
		}
		if len(r.FactsErrors) > 0 {
			t.Errorf("%s: facts errors (the vaulted password did not reach msguard?): %+v", h.inventory, r.FactsErrors)
		}
	}

	xmlData, err := os.ReadFile(filepath.Join(fetched, "fleet.xml"))
	if err != nil {
		t.Fatalf("merged JUnit: %v", err)
	}
	var doc struct {
		Suites []struct {
			Name  string `xml:"name,attr"`
			Props []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
			Cases []struct {
				Classname string `xml:"classname,attr"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(xmlData, &doc); err != nil {
		t.Fatalf("fleet.xml: %v", err)
	}
	if len(doc.Suites) != len(hosts) {
		t.Fatalf("fleet.xml has %d testsuites; want %d", len(doc.Suites), len(hosts))
	}
	for _, h := range hosts {
		found := false
		for _, s := range doc.Suites {
			if s.Name != h.fqdn+"/preflight" {
				continue
			}
			found = true
			for _, c := range s.Cases {
				if c.Classname != h.fqdn {
					t.Errorf("suite %s: testcase classname %q; want %q", s.Name, c.Classname, h.fqdn)
				}
			}
			for _, p := range s.Props {
				if p.Name == "exit_code" && p.Value != fmt.Sprint(h.wantCode) {
					t.Errorf("suite %s: exit_code %s; want %d", s.Name, p.Value, h.wantCode)
				}
			}
		}
		if !found {
			t.Errorf("fleet.xml has no testsuite %s/preflight", h.fqdn)
		}
	}
}

// TestDemo runs the README's first command as a new user would see it: the
// Makefile must have the demo target, and the demo script must take a
// simulated 5.1 host through check, remediate and audit with the exit
// codes it shows (it fails on any other), leaving its reports behind.
func TestDemo(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	need(t, "make", "make")
	if code, out := run(t, time.Minute, nil, repo, "make", "-n", "demo", "demo-clean"); code != 0 || !strings.Contains(out, ".ci/demo.sh") {
		t.Fatalf("make -n demo: exit %d: the Makefile has no working demo target\n%s", code, out)
	}
	bin := t.TempDir()
	for name, path := range map[string]string{"msguard": simtest.MsguardBinary(t), "msguard-sim": simtest.Binary(t)} {
		if err := os.Symlink(path, filepath.Join(bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	demo := filepath.Join(t.TempDir(), "demo")
	code, out := run(t, 10*time.Minute, []string{"DEMO_BIN=" + bin}, repo, filepath.Join(repo, ".ci", "demo.sh"), demo)
	if code != 0 {
		t.Fatalf(".ci/demo.sh: exit %d\n%s", code, out)
	}
	for _, want := range []string{"upgrade of " + filepath.Join(demo, "server5") + " completed",
		"verdict healthy: 0 deny, 0 warn, 0 error, 0 waived", "resolved (2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
	// It ends by naming the reports folder and the one file to open first.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || lines[len(lines)-4] != "The reports are in "+filepath.Join(demo, "reports") ||
		lines[len(lines)-3] != "Open first: "+filepath.Join(demo, "reports", "preflight.html") {
		t.Errorf("the demo does not end by naming the reports folder and the file to open first:\n%s", strings.Join(lines[max(0, len(lines)-6):], "\n"))
	}
	for _, f := range []string{"before.json", "preflight.json", "preflight.xml", "preflight.sarif", "preflight.md", "preflight.html", "rehearsal.json", "rehearsal.html", "audit.html", "msguard.prom"} {
		if fi, err := os.Stat(filepath.Join(demo, "reports", f)); err != nil || fi.Size() == 0 {
			t.Errorf("report %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(demo, "server5")); !os.IsNotExist(err) {
		t.Errorf("the demo host was not destroyed at the end (%v)", err)
	}
}
