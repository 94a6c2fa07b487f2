// Command msguard-bench compares msguard with the standard tool for the
// same work, in one run, on the same generated data, and prints the
// ratios (msguard time / peer time; below 1 is faster) with peak RSS:
//
//	queue scan          vs  find Q -type f | wc -l, find -printf '%s\n'
//	process collector   vs  ps -eo pid,ppid,user,lstart,args
//	LDIF export         vs  ldapsearch -LLL -E pr=1000/noprompt
//	backup + verify     vs  cp -a + sha256sum -c
//	restore             vs  cp -a
//	policy evaluation   vs  opa eval (cold processes, same bundle and input:
//	                        msguard check --snapshot, which also waives and renders)
//
// Every measured command runs as its own process (msguard's side is this
// binary re-executed with "op ..."), so wall time and peak RSS are measured
// the same way for both sides; each is the median of -runs runs.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "op" {
		if p := os.Getenv("MSGUARD_BENCH_CPUPROFILE"); p != "" {
			stop := startProfile(p)
			defer stop()
		}
		if err := runOp(context.Background(), os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "msguard-bench op:", err)
			os.Exit(1)
		}
		return
	}
	if err := orchestrate(); err != nil {
		fmt.Fprintln(os.Stderr, "msguard-bench:", err)
		os.Exit(1)
	}
}

// measurement is one timed process.
type measurement struct {
	wall   time.Duration
	maxRSS int64 // KiB
}

// timeCmd runs argv (or "sh -c" when shell) and returns its wall time and peak RSS.
func timeCmd(argv []string, env []string) (measurement, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = nil
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		return measurement{}, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, stderr.String())
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	m := measurement{wall: wall}
	if ru != nil {
		m.maxRSS = ru.Maxrss
	}
	return m, nil
}

// side is one half of a comparison: what to prepare (untimed) and run.
type side struct {
	prepare func() error
	argv    []string
}

// interleaved runs the two sides n times each, alternating (a, b, b, a,
// a, b, ...) so that a load spike on this machine does not fall on one side
// only, and returns each side's median wall time and largest RSS.
func interleaved(n int, a, b side) (measurement, measurement, error) {
	var walls [2][]time.Duration
	var rss [2]int64
	for i := 0; i < 2*n; i++ {
		k := i % 2
		if (i/2)%2 == 1 {
			k = 1 - k
		}
		s := [2]side{a, b}[k]
		if s.prepare != nil {
			if err := s.prepare(); err != nil {
				return measurement{}, measurement{}, err
			}
		}
		m, err := timeCmd(s.argv, nil)
		if err != nil {
			return measurement{}, measurement{}, fmt.Errorf("%s: %w", [2]string{"msguard", "peer"}[k], err)
		}
		walls[k] = append(walls[k], m.wall)
		rss[k] = max(rss[k], m.maxRSS)
	}
	var out [2]measurement
	for k := range out {
		sort.Slice(walls[k], func(i, j int) bool { return walls[k][i] < walls[k][j] })
		out[k] = measurement{wall: walls[k][len(walls[k])/2], maxRSS: rss[k]}
	}
	return out[0], out[1], nil
}

// row is one comparison of the table.
type row struct {
	name, peer string
	goal       float64
	ours, them measurement
}

func (r row) ratio() float64 { return float64(r.ours.wall) / float64(r.them.wall) }

func printTable(rows []row) {
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "work\tmsguard\tpeer\tratio\tgoal\tmet\tmsguard RSS\tpeer RSS\tpeer command\t")
	for _, r := range rows {
		met := "yes"
		if r.ratio() > r.goal {
			met = "NO"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t<= %.2fx\t%s\t%d MiB\t%d MiB\t%s\t\n", r.name, round(r.ours.wall), round(r.them.wall),
			r.ratio(), r.goal, met, r.ours.maxRSS/1024, r.them.maxRSS/1024, r.peer)
	}
	tw.Flush()
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
	only    string
}

func orchestrate() error {
	var c config
	flag.StringVar(&c.bin, "bin", "bin", "directory holding msguard-sim and opa")
	flag.StringVar(&c.work, "work", "", "work directory (default: a new temp dir)")
	flag.IntVar(&c.queue, "queue", 100000, "queue files of the generated host")
	flag.IntVar(&c.users, "users", 100000, "directory entries of the generated host")
	flag.IntVar(&c.runs, "runs", 3, "runs per measurement (the median is kept)")
	flag.BoolVar(&c.keep, "keep", false, "keep the generated host")
	flag.StringVar(&c.jsonOut, "json", "", "also write the table as JSON to FILE")
	flag.StringVar(&c.only, "only", "", "run only the rows whose name contains NAME (case-insensitive), e.g. -only ldif")
	flag.Parse()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	if c.bin, err = filepath.Abs(c.bin); err != nil {
		return err
	}
	if c.work == "" {
		if c.work, err = os.MkdirTemp("", "msguard-bench-"); err != nil {
			return err
		}
	}
	h, err := newHost(c)
	if err != nil {
		return err
	}
	if !c.keep {
		defer h.destroy()
	}
	var rows []row
	for _, b := range benches(self, c, h) {
		if c.only != "" && !strings.Contains(strings.ToLower(b.name), strings.ToLower(c.only)) {
			continue
		}
		fmt.Fprintf(os.Stderr, "bench: %s ...\n", b.name)
		ours, them, err := interleaved(c.runs, side{b.prepare, b.ours}, side{b.preparePeer, b.them})
		if err != nil {
			return fmt.Errorf("%s: %w", b.name, err)
		}
		rows = append(rows, row{name: b.name, peer: b.peerText, goal: b.goal, ours: ours, them: them})
	}
	fmt.Printf("msguard vs the standard tools: %d queue files, %d directory entries, median of %d interleaved runs each\n", c.queue, c.users, c.runs)
	printTable(rows)
	if c.jsonOut != "" {
		var out []map[string]any
		for _, r := range rows {
			out = append(out, map[string]any{"work": r.name, "msguard_ms": r.ours.wall.Milliseconds(), "peer_ms": r.them.wall.Milliseconds(),
				"ratio": r.ratio(), "goal": r.goal, "msguard_rss_kib": r.ours.maxRSS, "peer_rss_kib": r.them.maxRSS, "peer": r.peer})
		}
		b, _ := json.MarshalIndent(out, "", "  ")
		return os.WriteFile(c.jsonOut, b, 0o644)
	}
	return nil
}

// startProfile writes a CPU profile of one op to path (for finding why
// msguard's side is slow); it returns the function that stops it.
func startProfile(path string) func() {
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "msguard-bench: profile:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "msguard-bench: profile:", err)
		f.Close()
		return func() {}
	}
	return func() { pprof.StopCPUProfile(); f.Close() }
}
