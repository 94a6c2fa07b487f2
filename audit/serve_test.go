package audit

import (
	"context"
	"encoding/json"
	"github.com/msguard/msguard/judgement"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock that tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestServeHealthzSwitches(t *testing.T) {
	clock := &fakeClock{t: t0}
	verdicts := []string{judgement.VerdictHealthy, judgement.VerdictUnhealthy, judgement.VerdictHealthy}
	var runs atomic.Int32
	s := &Server{Interval: 5 * time.Minute, Now: clock.Now, Audit: func(context.Context) (*judgement.Report, error) {
		n := runs.Add(1)
		return report(clock.Now(), verdicts[n-1]), nil
	}}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	steps := []struct {
		advance time.Duration
		code    int
		runs    int32
	}{
		{0, http.StatusOK, 1},                               // first request runs the audit
		{time.Minute, http.StatusOK, 1},                     // fresh: no new run
		{5 * time.Minute, http.StatusServiceUnavailable, 2}, // stale: re-run, now unhealthy
		{4 * time.Minute, http.StatusServiceUnavailable, 2}, // fresh again
		{time.Hour, http.StatusOK, 3},                       // healthy again
	}
	for i, st := range steps {
		clock.Add(st.advance)
		code, body := get(t, ts.URL+"/healthz")
		if code != st.code || runs.Load() != st.runs {
			t.Fatalf("step %d: %d %q after %d runs; want %d after %d", i, code, body, runs.Load(), st.code, st.runs)
		}
	}
	code, body := get(t, ts.URL+"/report.json")
	var r judgement.Report
	if code != http.StatusOK || json.Unmarshal([]byte(body), &r) != nil || r.Verdict != judgement.VerdictHealthy {
		t.Errorf("/report.json: %d %.200s", code, body)
	}
	code, body = get(t, ts.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	fams := parseMetrics(t, []byte(body))
	if v, ok := value(fams, "msguard_verdict", map[string]string{"verdict": "healthy"}); !ok || v != 1 {
		t.Errorf("/metrics verdict healthy = %v %v", v, ok)
	}
	if code, _ := get(t, ts.URL+"/nothing"); code != http.StatusNotFound {
		t.Errorf("/nothing: %d", code)
	}
}

func TestServeAuditFailureIs503(t *testing.T) {
	s := &Server{Audit: func(context.Context) (*judgement.Report, error) { return nil, io.ErrUnexpectedEOF }}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, path := range []string{"/healthz", "/metrics", "/report.json"} {
		if code, _ := get(t, ts.URL+path); code != http.StatusServiceUnavailable {
			t.Errorf("%s: %d; want 503", path, code)
		}
	}
}

// TestServeOneAuditAtATime sends 50 concurrent requests while the audit
// is blocked: exactly one audit runs and every request gets its result.
func TestServeOneAuditAtATime(t *testing.T) {
	release := make(chan struct{})
	var runs, running, most atomic.Int32
	s := &Server{MaxInFlight: 8, Audit: func(context.Context) (*judgement.Report, error) {
		runs.Add(1)
		n := running.Add(1)
		defer running.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		return report(t0, judgement.VerdictHealthy), nil
	}}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	paths := []string{"/healthz", "/metrics", "/report.json"}
	codes := make(chan int, 50)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(ts.URL + paths[i%len(paths)])
			if err != nil {
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	// Wait until the audit has started, then let it finish.
	for runs.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != http.StatusOK {
			t.Errorf("a request got %d", c)
		}
	}
	if runs.Load() != 1 || most.Load() != 1 {
		t.Errorf("%d audits ran, %d at once; want 1 and 1", runs.Load(), most.Load())
	}
}

func TestServeOnLoopbackStopsOnCancel(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var runs atomic.Int32
	s := &Server{Interval: time.Hour, Audit: func(context.Context) (*judgement.Report, error) {
		runs.Add(1)
		return report(t0, judgement.VerdictUnhealthy), nil
	}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, l) }()
	if code, _ := get(t, "http://"+l.Addr().String()+"/healthz"); code != http.StatusServiceUnavailable {
		t.Errorf("/healthz of an unhealthy host: %d", code)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve after cancel: %v", err)
	}
	if runs.Load() != 1 {
		t.Errorf("%d audits; want 1 (the background run and the request share it)", runs.Load())
	}
}

func TestListenAddr(t *testing.T) {
	tests := []struct {
		addr   string
		remote bool
		want   string
		ok     bool
	}{
		{":9100", false, "127.0.0.1:9100", true},
		{"127.0.0.1:9100", false, "127.0.0.1:9100", true},
		{"[::1]:9100", false, "[::1]:9100", true},
		{"localhost:9100", false, "localhost:9100", true},
		{"0.0.0.0:9100", false, "", false},
		{"192.0.2.10:9100", false, "", false},
		{"mail.siroe.com:9100", false, "", false},
		{"0.0.0.0:9100", true, "0.0.0.0:9100", true},
		{"9100", false, "", false},
		{"127.0.0.1:http", false, "", false},
	}
	for _, tc := range tests {
		got, err := ListenAddr(tc.addr, tc.remote)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ListenAddr(%q, %v) = %q, %v; want %q ok=%v", tc.addr, tc.remote, got, err, tc.want, tc.ok)
		}
	}
}
