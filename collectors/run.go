package collectors

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/msguard/msguard/internal/exitcode"
)

// DefaultTimeout bounds a collector when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Collect takes a snapshot of the install described by opts on this
// machine. The install collector runs first and resolves the Target; the
// others then run concurrently, each with its own timeout, so a hung
// directory server cannot hang the run. A collector's failure is recorded
// in the snapshot; Collect itself fails only when the server root cannot
// be used at all. onDone, when not nil, is called after each collector
// (for progress).
func Collect(ctx context.Context, opts Options, onDone func(name string)) (*facts.Snapshot, error) {
	start := time.Now()
	t, inst, err := ResolveTarget(opts)
	if err != nil {
		// The server root itself is unusable: bad input, not a crash.
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	t.probeParent = os.Getpid()
	s := newSnapshot(t, inst, time.Since(start))
	s.Root = os.Geteuid() == 0
	if s.Host == "" {
		s.Host, _ = os.Hostname()
	}
	if onDone != nil {
		onDone(facts.CollectorInstall)
	}
	return s, collectTarget(ctx, t, s, onDone)
}

// CollectFrom takes the snapshot of the install opts describes from what
// h holds (a collector script's bundle): the same collectors as Collect,
// reading h. advice words the errors about the server root. The caller
// sets the snapshot's time and whether the host was read as root.
func CollectFrom(ctx context.Context, h Host, opts Options, advice Advice) (*facts.Snapshot, error) {
	t, inst, err := ResolveTargetOn(h, opts, advice)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	s := newSnapshot(t, inst, 0)
	if s.Host == "" {
		s.Host = h.NodeName()
	}
	return s, collectTarget(ctx, t, s, nil)
}

// newSnapshot starts the snapshot of the resolved target t.
func newSnapshot(t *Target, inst *facts.Install, took time.Duration) *facts.Snapshot {
	return &facts.Snapshot{
		Schema:      facts.SnapshotSchema,
		Tool:        facts.Tool{Name: "msguard", Version: buildinfo.Version()},
		CollectedAt: time.Now().UTC(),
		Collectors:  map[string]facts.CollectorRun{facts.CollectorInstall: {DurationMS: ms(took)}},
		Install:     inst,
		ServerRoot:  t.Root, WebServerRoot: t.WSRoot, Instance: t.Instance,
		Host: inst.FullMachineName,
	}
}

// collectTarget runs every collector of the registry on t into s.
func collectTarget(ctx context.Context, t *Target, s *facts.Snapshot, onDone func(name string)) error {
	timeout := t.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range registry {
		if t.Only != nil && !slices.Contains(t.Only, c.name) {
			continue
		}
		wg.Add(1)
		go func(name string, f collectFunc) {
			defer wg.Done()
			limit := timeout
			if name == facts.CollectorMailFlow {
				limit = mailflowTimeout(t, timeout)
			}
			run, local := runOne(ctx, t, name, f, limit)
			mu.Lock()
			defer mu.Unlock()
			s.Collectors[name] = run
			if fam, ok := facts.FamilyOf(name); ok && local != nil {
				fam.Take(s, local)
			}
			if onDone != nil {
				onDone(name)
			}
		}(c.name, c.run)
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return context.Cause(ctx)
	}
	return nil
}

// runOne runs one collector into a private snapshot with a deadline. A
// collector that overruns is abandoned: its private snapshot is dropped,
// so it can never write into the result after the deadline.
func runOne(ctx context.Context, t *Target, name string, f collectFunc, timeout time.Duration) (facts.CollectorRun, *facts.Snapshot) {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	type result struct {
		partial []string
		err     error
	}
	local := &facts.Snapshot{}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		defer func() {
			if r := recover(); r != nil {
				done <- result{err: fmt.Errorf("collector crashed: %v\n%s", r, debug.Stack())}
			}
		}()
		p, err := f(cctx, t, local)
		done <- result{p, err}
	}()
	select {
	case r := <-done:
		run := facts.CollectorRun{DurationMS: ms(time.Since(start)), Partial: r.partial}
		if r.err != nil {
			run.Error = r.err.Error()
		}
		return run, local
	case <-cctx.Done():
		reason := fmt.Sprintf("timed out after %s (raise --timeout)", timeout)
		if ctx.Err() != nil {
			reason = "interrupted"
		}
		return facts.CollectorRun{DurationMS: ms(time.Since(start)), Error: reason}, nil
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// Daemons lists the install's running daemons only (the processes
// collector without the rest), for callers that poll, such as remediate
// waiting for a stop script's processes to exit.
func Daemons(ctx context.Context, opts Options) ([]facts.Process, error) {
	t, _, err := ResolveTarget(opts)
	if err != nil {
		return nil, err
	}
	t.probeParent = os.Getpid()
	s := &facts.Snapshot{}
	if _, err := collectProcesses(ctx, t, s); err != nil {
		return nil, err
	}
	if s.Processes == nil {
		return nil, fmt.Errorf("processes not collected")
	}
	return s.Processes.Daemons, nil
}

// ScanQueue summarises one queue directory (INST/imta/queue) the way the
// queue collector does: streamed, in bounded memory. The benchmarks use it.
func ScanQueue(ctx context.Context, dir string) (*facts.Queue, error) {
	q, _, err := scanQueue(ctx, dir)
	return q, err
}
