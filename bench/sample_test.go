package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBenchSample runs the whole bench once at a tiny size, every row
// (the window row with one run) warm, and checks the shape of what it
// prints and writes: a row per comparison with its ratios, the Markdown
// table and the JSON. It never judges a time: the numbers are checked for
// being there and positive, not for how fast anything was.
func TestBenchSample(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("the bench needs root (the simulated hosts' store mounts, remediate): run the tests as root")
	}
	bin := t.TempDir()
	for pkg, out := range map[string]string{"../cmd/msguard": "msguard", "../cmd/msguard-sim": "msguard-sim", ".": "msguard-bench"} {
		if b, err := exec.Command("go", "build", "-o", filepath.Join(bin, out), pkg).CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, b)
		}
	}
	if err := os.Symlink(opaBinary(t), filepath.Join(bin, "opa")); err != nil {
		t.Fatal(err)
	}
	work := filepath.Join(t.TempDir(), "work")
	md, js := filepath.Join(bin, "bench.md"), filepath.Join(bin, "bench.json")
	cmd := exec.Command(filepath.Join(bin, "msguard-bench"), "-bin", bin, "-work", work, "-queue", "300", "-users", "40",
		"-runs", "1", "-cold=false", "-window", "1", "-markdown", md, "-json", js)
	cmd.Dir = ".." // the window row's hand runbook is bench/window/runbook.sh
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("msguard-bench: %v\n%s", err, out)
	}
	text := string(out)
	names := append(append([]string(nil), rowNames...), "window (downtime, 1 runs)", "journal overhead (1 runs)")
	if !regexp.MustCompile(`msguard vs the standard tools: 300 queue files, 40 directory entries; 1 paired runs per row .*; load \S+ \S+ \S+ before, \d+ CPUs`).MatchString(text) {
		t.Errorf("no header with the sizes, runs and load:\n%s", text)
	}
	for _, n := range names {
		row := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(n) + `\s+warm\s+\S+\s+\S+\s+[0-9.]+ [0-9.]+x [0-9.]+\s+<= [0-9.]+x\s+(yes|NO)\s+[0-9.]+x\s+\d+ MiB\s+\d+ MiB`)
		if !row.MatchString(text) {
			t.Errorf("no table row for %q:\n%s", n, text)
		}
	}
	if !regexp.MustCompile(`note: msguard remediate's own peak RSS [1-9]\d* MiB \(run-end peak_rss_kib\); \d+ MiB is the largest process`).MatchString(text) {
		t.Errorf("the window row does not give msguard's own peak RSS:\n%s", text)
	}
	if !strings.Contains(text, "msguard = "+filepath.Join(bin, "msguard")+" backup tree ") {
		t.Errorf("the backup row does not run the shipped binary's backup tree:\n%s", text)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Count(string(b), "\n| "); got != len(names)+1 { // the header and a line per row
		t.Errorf("Markdown has %d table lines, want %d:\n%s", got, len(names)+1, b)
	}
	var rows []struct {
		Work      string             `json:"work"`
		Cache     string             `json:"cache"`
		OurMS     *int64             `json:"msguard_ms"`
		PeerMS    *int64             `json:"peer_ms"`
		WallRatio map[string]float64 `json:"wall_ratio"`
		Goal      float64            `json:"goal"`
	}
	b, err = os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("bench JSON: %v\n%s", err, b)
	}
	if len(rows) != len(names) {
		t.Fatalf("JSON has %d rows, want %d", len(rows), len(names))
	}
	for i, r := range rows {
		if r.Work != names[i] || r.Cache != "warm" || r.OurMS == nil || r.PeerMS == nil || r.Goal <= 0 ||
			!(r.WallRatio["min"] > 0 && r.WallRatio["min"] <= r.WallRatio["median"] && r.WallRatio["median"] <= r.WallRatio["max"]) {
			t.Errorf("JSON row %d: %+v", i, r)
		}
	}
	if _, err := os.Stat(work); !os.IsNotExist(err) {
		t.Errorf("the bench left its work directory %s (%v)", work, err)
	}
}

// opaBinary is the opa the policy row compares with, at the version msguard
// embeds: the repository's bin/opa that make bench builds, else one built
// once into the user's cache directory.
func opaBinary(t *testing.T) string {
	t.Helper()
	if p, err := filepath.Abs(filepath.Join("..", "bin", "opa")); err == nil {
		if fi, err := os.Stat(p); err == nil && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	v, err := exec.Command("go", "list", "-m", "-f", "{{.Version}}", "github.com/open-policy-agent/opa").Output()
	if err != nil {
		t.Fatalf("go list opa: %v", err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "msguard-bench", "opa-"+strings.TrimSpace(string(v)))
	p := filepath.Join(dir, "opa")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	install := exec.Command("go", "install", "github.com/open-policy-agent/opa@"+strings.TrimSpace(string(v)))
	install.Env = append(os.Environ(), "GOBIN="+dir)
	if b, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install opa: %v\n%s", err, b)
	}
	return p
}
