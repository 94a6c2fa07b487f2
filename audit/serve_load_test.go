package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestServeLoad sends 1,000 concurrent requests over loopback to a real
// Server (Serve on a listener) whose audit is slow and whose result goes
// stale after every tenth answer, so that audits are re-run while hundreds of
// requests wait. It checks that every request is answered with the status
// its body explains (200, or 503 for an unhealthy verdict or a failed
// audit), that no two audits ever overlap, and that after the shutdown no
// goroutine of the server or its connections is left.
func TestServeLoad(t *testing.T) {
	const (
		requests = 1000
		interval = 5 * time.Minute
	)
	base := runtime.NumGoroutine()
	clock := &fakeClock{t: t0}

	var runs, running, most atomic.Int32
	// Run n is healthy, except every third (unhealthy) and every seventh
	// (the audit fails).
	audit := func(ctx context.Context) (*judgement.Report, error) {
		n := runs.Add(1)
		cur := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if cur <= m || most.CompareAndSwap(m, cur) {
				break
			}
		}
		// Slow enough for requests to pile up behind the run.
		select {
		case <-time.After(2 * time.Millisecond):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		switch {
		case n%7 == 0:
			return nil, fmt.Errorf("run %d: collector crashed", n)
		case n%3 == 0:
			return report(clock.Now(), judgement.VerdictUnhealthy), nil
		}
		return report(clock.Now(), judgement.VerdictHealthy), nil
	}
	s := &Server{Audit: audit, Interval: interval, Now: clock.Now, MaxInFlight: 8}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, l) }()

	tr := &http.Transport{MaxIdleConns: requests, MaxIdleConnsPerHost: requests}
	// The client's timeout only bounds a hung test; nothing is timed.
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	baseURL := "http://" + l.Addr().String()
	paths := []string{"/healthz", "/metrics", "/report.json"}

	type answer struct {
		path string
		code int
		body string
		err  error
	}
	answers := make([]answer, requests)
	start := make(chan struct{})
	var done atomic.Int32
	var wg sync.WaitGroup
	for i := range requests {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a := answer{path: paths[i%len(paths)]}
			<-start
			resp, err := client.Get(baseURL + a.path)
			if done.Add(1)%10 == 0 {
				clock.Add(interval) // the latest audit is now stale
			}
			if err != nil {
				a.err = err
			} else {
				b, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				a.code, a.body, a.err = resp.StatusCode, string(b), err
			}
			answers[i] = a
		}()
	}
	close(start)
	wg.Wait()

	codes := map[int]int{}
	for i, a := range answers {
		if a.err != nil {
			t.Errorf("request %d (%s): %v", i, a.path, a.err)
			continue
		}
		codes[a.code]++
		if msg := checkAnswer(a.path, a.code, a.body); msg != "" {
			t.Errorf("request %d (%s): %s", i, a.path, msg)
		}
	}
	t.Logf("%d requests: %v; %d audits, at most %d at once", requests, codes, runs.Load(), most.Load())
	if most.Load() != 1 {
		t.Errorf("%d audits ran at once; want never more than 1", most.Load())
	}
	if codes[http.StatusOK]+codes[http.StatusServiceUnavailable] != requests {
		t.Errorf("answers %v; want %d answers, each 200 or 503", codes, requests)
	}
	if runs.Load() < 2 {
		t.Errorf("%d audits; the stale results should have been re-audited", runs.Load())
	}

	cancel()
	if err := <-served; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	tr.CloseIdleConnections()
	// Goroutines end asynchronously after the shutdown: wait for them,
	// then show what is left.
	const slack = 3
	deadline := time.Now().Add(30 * time.Second)
	for runtime.NumGoroutine() > base+slack && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base+slack {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		t.Errorf("%d goroutines after the shutdown, %d before the server started:\n%s", n, base, buf)
	}
}

// checkAnswer returns what is wrong with one response, or "".
func checkAnswer(path string, code int, body string) string {
	failed := strings.Contains(body, "collector crashed")
	switch path {
	case "/healthz":
		switch {
		case failed && code == http.StatusServiceUnavailable && strings.HasPrefix(body, "error: "):
		case strings.HasPrefix(body, judgement.VerdictHealthy+":") && code == http.StatusOK:
		case strings.HasPrefix(body, judgement.VerdictUnhealthy+":") && code == http.StatusServiceUnavailable:
		default:
			return fmt.Sprintf("%d %q", code, body)
		}
	case "/metrics":
		switch {
		case failed && code == http.StatusServiceUnavailable:
		case code == http.StatusOK && strings.Contains(body, "msguard_verdict{"):
		default:
			return fmt.Sprintf("%d %.200q", code, body)
		}
	case "/report.json":
		if failed && code == http.StatusServiceUnavailable {
			return ""
		}
		var r judgement.Report
		if code != http.StatusOK {
			return fmt.Sprintf("%d %.200q", code, body)
		}
		if err := json.Unmarshal([]byte(body), &r); err != nil || r.Schema != judgement.ReportSchema {
			return fmt.Sprintf("not a report (%v): %.200q", err, body)
		}
	}
	return ""
}
