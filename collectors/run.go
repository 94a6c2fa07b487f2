package collectors

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"sort"
	"sync"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/buildinfo"
	"github.com/msguard/msguard/internal/exitcode"
)

// DefaultTimeout bounds a collector when Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Collect takes a snapshot of the install described by opts. The install
// collector runs first and resolves the Target; the others then run
// concurrently, each with its own timeout, so a hung directory server
// cannot hang the run. A collector's failure is recorded in the snapshot;
// Collect itself fails only when the server root cannot be used at all.
// onDone, when not nil, is called after each collector (for progress).
func Collect(ctx context.Context, opts Options, onDone func(name string)) (*facts.Snapshot, error) {
	s := &facts.Snapshot{
		Schema:      facts.SnapshotSchema,
		Tool:        facts.Tool{Name: "msguard", Version: buildinfo.Version()},
		CollectedAt: time.Now().UTC(),
		Root:        os.Geteuid() == 0,
		Collectors:  map[string]facts.CollectorRun{},
	}
	start := time.Now()
	t, inst, err := ResolveTarget(opts)
	if err != nil {
		// The server root itself is unusable: bad input, not a crash.
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	t.probeParent = os.Getpid()
	s.Collectors[facts.CollectorInstall] = facts.CollectorRun{DurationMS: ms(time.Since(start))}
	s.Install = inst
	s.ServerRoot, s.WebServerRoot, s.Instance = t.Root, t.WSRoot, t.Instance
	s.Host = inst.FullMachineName
	if s.Host == "" {
		s.Host, _ = os.Hostname()
	}
	if onDone != nil {
		onDone(facts.CollectorInstall)
	}

	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	names := make([]string, 0, len(registered))
	for name := range registered {
		names = append(names, name)
	}
	sort.Strings(names)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, name := range names {
		wg.Add(1)
		go func(name string, f collectFunc) {
			defer wg.Done()
			run, local := runOne(ctx, t, name, f, timeout)
			mu.Lock()
			defer mu.Unlock()
			s.Collectors[name] = run
			if run.Error == "" || len(run.Partial) > 0 || local != nil {
				mergeField(s, local, name)
			}
			if onDone != nil {
				onDone(name)
			}
		}(name, registered[name])
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return s, context.Cause(ctx)
	}
	return s, nil
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

// mergeField copies the field owned by collector name from src to dst.
func mergeField(dst, src *facts.Snapshot, name string) {
	if src == nil {
		return
	}
	switch name {
	case facts.CollectorVersions:
		dst.Versions = src.Versions
	case facts.CollectorProcesses:
		dst.Processes = src.Processes
	case facts.CollectorMounts:
		dst.Mounts = src.Mounts
	case facts.CollectorQueue:
		dst.Queue = src.Queue
	case facts.CollectorStore:
		dst.Store = src.Store
	case facts.CollectorConfigs:
		dst.Configs = src.Configs
	case facts.CollectorLDAP:
		dst.LDAP = src.LDAP
	case facts.CollectorHA:
		dst.HA = src.HA
	case facts.CollectorMailLog:
		dst.MailLog = src.MailLog
	case facts.CollectorRunState:
		dst.RunState = src.RunState
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
