// Command msguard-bench compares msguard with the standard tool for the
// same work, in one run, on the same generated data, and prints the
// ratios (msguard time / peer time; below 1 is faster) with peak RSS:
//
//	queue scan          msguard collect --only queue      vs  find Q -type f -printf '%s %T@\n'
//	process collector   msguard collect --only processes  vs  ps -eo pid,ppid,user,lstart,args
//	policy evaluation   msguard check --snapshot          vs  opa eval (same bundle and input)
//	LDIF export         msguard backup ldif               vs  ldapsearch -LLL -E pr=1000/noprompt > FILE
//	backup + verify     msguard backup tree               vs  cp -a + sha256sum, sha256sum -c
//	restore             msguard backup restore            vs  cp -a
//
// msguard's side is always the shipped msguard binary doing a command an
// operator runs (backup tree, restore and ldif run the code remediate's
// backup steps and backout run). Peers run directly (a shell only where
// the peer is itself a pipeline or writes through a redirection).
// Both sides write to /dev/null or to files of their own. Each row is run
// in -runs pairs whose order alternates (a b, b a, ...); the table gives
// the min, median and max of the paired wall-time ratios, the median
// CPU-time ratio (user + system) and the peak RSS. Disk-bound rows are
// also run cold: the page cache is dropped before every run (root).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	if err := orchestrate(); err != nil {
		fmt.Fprintln(os.Stderr, "msguard-bench:", err)
		os.Exit(1)
	}
}

// measurement is one timed process.
type measurement struct {
	wall, cpu time.Duration // cpu: user + system time of the process and its children
	maxRSS    int64         // KiB: the largest process of the tree (rusage counts children)
	selfRSS   int64         // KiB: msguard's own, when it reports it (the window row)
}

// devNull takes what a measured command prints: both sides write to it.
var devNull, _ = os.OpenFile(os.DevNull, os.O_WRONLY, 0)

// timeCmd runs argv directly (no shell) and returns its wall and CPU
// time and peak RSS.
func timeCmd(argv []string, env []string) (measurement, error) {
	return timeCmdTo(argv, env, devNull)
}

// timeCmdTo is timeCmd with the command's standard output to stdout.
func timeCmdTo(argv []string, env []string, stdout io.Writer) (measurement, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = stdout
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
	}
	m := measurement{wall: wall}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru != nil {
		m.maxRSS = int64(ru.Maxrss)
		m.cpu = time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
	}
	return m, nil
}

// dropCaches empties the page cache (root only), so the next run reads
// from disk: a cold run.
func dropCaches() error {
	if err := exec.Command("sync").Run(); err != nil {
		return err
	}
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

// side is one half of a comparison: what to prepare (untimed) and run.
type side struct {
	prepare func() error
	argv    []string
}

// samples are one side's runs.
type samples []measurement

func (s samples) walls() []float64 {
	out := make([]float64, len(s))
	for i, m := range s {
		out[i] = float64(m.wall)
	}
	return out
}

func (s samples) cpus() []float64 {
	out := make([]float64, len(s))
	for i, m := range s {
		out[i] = float64(m.cpu)
	}
	return out
}

func (s samples) maxRSS() int64 {
	var r int64
	for _, m := range s {
		r = max(r, m.maxRSS)
	}
	return r
}

// spread is the min, median and max of xs.
type spread struct{ min, med, max float64 }

func spreadOf(xs []float64) spread {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	if len(ys) == 0 {
		return spread{}
	}
	return spread{ys[0], ys[len(ys)/2], ys[len(ys)-1]}
}

// pairedRatios divides each msguard run by the peer run of its pair.
func pairedRatios(a, b []float64) []float64 {
	out := make([]float64, 0, len(a))
	for i := range a {
		if i < len(b) && b[i] > 0 {
			out = append(out, a[i]/b[i])
		}
	}
	return out
}

// interleaved runs the two sides n times each in pairs, alternating which
// goes first (a b, b a, a b, ...), so that a load spike on this machine
// does not fall on one side only. Every run starts after a sync (no run
// writes back another's data); cold also drops the page cache. Pair i is
// (ours[i], them[i]).
func interleaved(n int, cold bool, a, b side) (samples, samples, error) {
	var out [2]samples
	for i := 0; i < n; i++ {
		order := [2]int{0, 1}
		if i%2 == 1 {
			order = [2]int{1, 0}
		}
		for _, k := range order {
			s := [2]side{a, b}[k]
			if s.prepare != nil {
				if err := s.prepare(); err != nil {
					return nil, nil, err
				}
			}
			// Every run starts with nothing dirty in the page cache: else
			// one side pays for writing back what the other wrote (msguard
			// restore's syncfs flushed the previous cp -a's files too).
			if err := exec.Command("sync").Run(); err != nil {
				return nil, nil, fmt.Errorf("sync before a run: %w", err)
			}
			if cold {
				if err := dropCaches(); err != nil {
					return nil, nil, fmt.Errorf("drop the page cache (cold runs need root): %w", err)
				}
			}
			m, err := timeCmd(s.argv, nil)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", [2]string{"msguard", "peer"}[k], err)
			}
			out[k] = append(out[k], m)
		}
	}
	return out[0], out[1], nil
}

// row is one comparison of the table.
type row struct {
	name, peer, ourCmd string
	cache              string // warm or cold
	goal               float64
	ours, them         samples
	note               string // printed under the table
}

// wallRatio and cpuRatio are the paired ratios' min, median and max.
func (r row) wallRatio() spread { return spreadOf(pairedRatios(r.ours.walls(), r.them.walls())) }
func (r row) cpuRatio() spread  { return spreadOf(pairedRatios(r.ours.cpus(), r.them.cpus())) }

func printTable(rows []row) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "work\tcache\tmsguard\tpeer\twall ratio (min med max)\tgoal\tmet\tcpu ratio\tmsguard RSS\tpeer RSS\t")
	for _, r := range rows {
		w, c := r.wallRatio(), r.cpuRatio()
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2f %.2fx %.2f\t<= %.2fx\t%s\t%.2fx\t%d MiB\t%d MiB\t\n", r.name, r.cache,
			round(time.Duration(spreadOf(r.ours.walls()).med)), round(time.Duration(spreadOf(r.them.walls()).med)),
			w.min, w.med, w.max, r.goal, met(r), c.med, r.ours.maxRSS()/1024, r.them.maxRSS()/1024)
	}
	tw.Flush()
	fmt.Println()
	seen := map[string]bool{}
	for _, r := range rows {
		if !seen[r.name] {
			seen[r.name] = true
			fmt.Printf("  %s: msguard = %s\n    peer = %s\n", r.name, r.ourCmd, r.peer)
			if r.note != "" {
				fmt.Printf("    note: %s\n", r.note)
			}
		}
	}
}

func met(r row) string {
	if r.wallRatio().med > r.goal {
		return "NO"
	}
	return "yes"
}

// markdown is the table as Markdown, for the README.
func markdown(rows []row, header string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n", header)
	b.WriteString("| work | cache | msguard | peer | wall ratio (min / median / max) | goal | CPU ratio (median) | msguard RSS | peer RSS | peer |\n")
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		w, c := r.wallRatio(), r.cpuRatio()
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %.2f / **%.2f×** / %.2f | ≤ %.2f× | %.2f× | %d MiB | %d MiB | `%s` |\n", r.name, r.cache,
			round(time.Duration(spreadOf(r.ours.walls()).med)), round(time.Duration(spreadOf(r.them.walls()).med)),
			w.min, w.med, w.max, r.goal, c.med, r.ours.maxRSS()/1024, r.them.maxRSS()/1024, r.peer)
	}
	for _, r := range rows {
		if r.note != "" {
			fmt.Fprintf(&b, "\n%s: %s.\n", r.name, r.note)
		}
	}
	return b.String()
}

func round(d time.Duration) string {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond).String()
	case d > time.Second:
		return d.Round(10 * time.Millisecond).String()
	default:
		return d.Round(100 * time.Microsecond).String()
	}
}

// config is the orchestrator's flags.
type config struct {
	bin     string // directory with msguard-sim, opa
	work    string
	queue   int
	users   int
	runs    int
	keep    bool
	jsonOut string
	mdOut   string
	only    string
	cold    bool
	window  int // window runs (0: no window row)
}

func orchestrate() error {
	var c config
	flag.StringVar(&c.bin, "bin", "bin", "directory holding msguard-sim and opa")
	flag.StringVar(&c.work, "work", "", "work directory (default: a new temp dir)")
	flag.IntVar(&c.queue, "queue", 100000, "queue files of the generated host")
	flag.IntVar(&c.users, "users", 100000, "directory entries of the generated host")
	flag.IntVar(&c.runs, "runs", 10, "paired runs per row (at least 10 for the published table)")
	flag.BoolVar(&c.cold, "cold", true, "also run the disk-bound rows cold (page cache dropped before every run; needs root)")
	flag.StringVar(&c.mdOut, "markdown", "", "also write the table as Markdown to FILE")
	flag.IntVar(&c.window, "window", 0, "also time the window (downtime of msguard remediate vs the runbook by hand) over N runs, each on two fresh hosts")
	flag.BoolVar(&c.keep, "keep", false, "keep the generated host")
	flag.StringVar(&c.jsonOut, "json", "", "also write the table as JSON to FILE")
	flag.StringVar(&c.only, "only", "", "run only the rows whose name contains one of NAME[,NAME] (case-insensitive), e.g. -only queue,policy")
	flag.Parse()
	var err error
	if c.bin, err = filepath.Abs(c.bin); err != nil {
		return err
	}
	if c.work == "" {
		if c.work, err = os.MkdirTemp("", "msguard-bench-"); err != nil {
			return err
		}
	}
	if err := writeWork(c); err != nil {
		return err
	}
	load := loadAverage()
	var rows []row
	// The generated host is made only for the rows that use it (the
	// window row makes fresh hosts of its own).
	if slices.ContainsFunc(rowNames, func(n string) bool { return selected(c.only, n) }) {
		h, err := newHost(c)
		if err != nil {
			return err
		}
		if !c.keep {
			defer h.destroy()
		}
		for _, b := range benches(c, h) {
			if !selected(c.only, b.name) {
				continue
			}
			caches := []bool{false}
			if b.disk && c.cold {
				caches = append(caches, true)
			}
			for _, cold := range caches {
				cache := map[bool]string{false: "warm", true: "cold"}[cold]
				fmt.Fprintf(os.Stderr, "bench: %s (%s) ...\n", b.name, cache)
				ours, them, err := interleaved(c.runs, cold, side{b.prepare, b.ours}, side{b.preparePeer, b.them})
				if err != nil {
					return fmt.Errorf("%s: %w", b.name, err)
				}
				rows = append(rows, row{name: b.name, peer: b.peerText, ourCmd: strings.Join(b.ours, " "), cache: cache, goal: b.goal, ours: ours, them: them})
			}
			if b.after != nil {
				if err := b.after(); err != nil {
					return fmt.Errorf("%s: %w", b.name, err)
				}
			}
		}
	} else if !c.keep {
		defer os.RemoveAll(c.work)
	}
	if c.window > 0 {
		fmt.Fprintf(os.Stderr, "bench: window (%d runs, two fresh hosts each) ...\n", c.window)
		r, j, err := windowRow(c, c.window)
		if err != nil {
			return fmt.Errorf("window: %w", err)
		}
		rows = append(rows, r, j)
	}
	header := fmt.Sprintf("msguard vs the standard tools: %d queue files, %d directory entries; %d paired runs per row (a b, b a, ...); load %s before, %d CPUs",
		c.queue, c.users, c.runs, load, runtime.NumCPU())
	fmt.Println(header)
	printTable(rows)
	if c.mdOut != "" {
		if err := os.WriteFile(c.mdOut, []byte(markdown(rows, header)), 0o644); err != nil {
			return err
		}
	}
	if c.jsonOut != "" {
		var out []map[string]any
		for _, r := range rows {
			w, cp := r.wallRatio(), r.cpuRatio()
			out = append(out, map[string]any{"work": r.name, "cache": r.cache,
				"msguard_ms": time.Duration(spreadOf(r.ours.walls()).med).Milliseconds(), "peer_ms": time.Duration(spreadOf(r.them.walls()).med).Milliseconds(),
				"wall_ratio": map[string]float64{"min": w.min, "median": w.med, "max": w.max}, "cpu_ratio_median": cp.med,
				"goal": r.goal, "msguard_rss_kib": r.ours.maxRSS(), "peer_rss_kib": r.them.maxRSS(), "peer": r.peer, "msguard": r.ourCmd, "note": r.note})
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		return os.WriteFile(c.jsonOut, b, 0o644)
	}
	return nil
}

// loadAverage is /proc/loadavg's 1, 5 and 15 minute figures.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
