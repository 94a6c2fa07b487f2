package audit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/msguard/msguard/judgement"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// Server serves the latest audit over HTTP:
//
//	/healthz      200 when the latest verdict is healthy, else 503
//	/metrics      the latest report as Prometheus text (WriteMetrics)
//	/report.json  the latest report (msguard.report/v1)
//
// A request re-runs the audit only when the latest run is older than
// Interval; concurrent requests share one run (singleflight), so there is
// never more than one audit at a time. At most MaxInFlight requests are
// handled at once; the others wait for a slot or their own deadline.
type Server struct {
	// Audit runs one complete audit and returns its report.
	Audit func(ctx context.Context) (*judgement.Report, error)
	// Interval is the least time between two audits (default 5m).
	Interval time.Duration
	// MaxInFlight bounds the requests handled at once (default 8).
	MaxInFlight int
	// Now is the clock (default time.Now); tests move it.
	Now func() time.Time
	Log *slog.Logger

	once  sync.Once
	sem   chan struct{}
	group singleflight.Group
	// runCtx bounds the audits: Serve's context, so a shutdown stops a run.
	runCtx context.Context

	mu     sync.Mutex
	latest *result
}

// result is one audit run as served.
type result struct {
	at      time.Time
	report  *judgement.Report
	json    []byte
	metrics []byte
	err     error
}

func (s *Server) init() {
	s.once.Do(func() {
		if s.Interval <= 0 {
			s.Interval = 5 * time.Minute
		}
		if s.MaxInFlight <= 0 {
			s.MaxInFlight = 8
		}
		if s.Now == nil {
			s.Now = time.Now
		}
		if s.Log == nil {
			s.Log = slog.New(slog.DiscardHandler)
		}
		s.sem = make(chan struct{}, s.MaxInFlight)
		if s.runCtx == nil {
			s.runCtx = context.Background()
		}
	})
}

// Latest returns the latest audit, running a new one first when there is
// none yet or the latest is older than Interval. A failed audit is kept
// too, so that a broken host is not audited more often than Interval.
func (s *Server) Latest(ctx context.Context) (*result, error) {
	s.init()
	s.mu.Lock()
	cur := s.latest
	s.mu.Unlock()
	if cur != nil && s.Now().Sub(cur.at) < s.Interval {
		return cur, nil
	}
	ch := s.group.DoChan("audit", func() (any, error) {
		// Another caller may have finished a run while this one waited.
		s.mu.Lock()
		cur := s.latest
		s.mu.Unlock()
		if cur != nil && s.Now().Sub(cur.at) < s.Interval {
			return cur, nil
		}
		// The run outlives the request that started it: others share it.
		res := s.run(s.runCtx)
		s.mu.Lock()
		s.latest = res
		s.mu.Unlock()
		return res, nil
	})
	select {
	case r := <-ch:
		return r.Val.(*result), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// run performs one audit and prepares what the handlers serve.
func (s *Server) run(ctx context.Context) *result {
	res := &result{at: s.Now()}
	r, err := s.Audit(ctx)
	if err != nil {
		s.Log.Error("audit failed", "error", err)
		res.err = err
		return res
	}
	res.report = r
	var j, m bytes.Buffer
	if err := r.Encode(&j); err != nil {
		res.err = err
		return res
	}
	if err := WriteMetrics(&m, r); err != nil {
		res.err = err
		return res
	}
	res.json, res.metrics = j.Bytes(), m.Bytes()
	s.Log.Info("audit", "verdict", r.Verdict, "deny", r.Summary.Deny, "warn", r.Summary.Warn, "error", r.Summary.Error)
	return res
}

// Handler returns the HTTP handler of /healthz, /metrics and /report.json.
func (s *Server) Handler() http.Handler {
	s.init()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.serve(func(w http.ResponseWriter, res *result) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if res.err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, "error: %v\n", res.err)
			return
		}
		if res.report.Verdict != judgement.VerdictHealthy {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		fmt.Fprintf(w, "%s: %d deny, %d warn, %d error, %d waived\n", res.report.Verdict,
			res.report.Summary.Deny, res.report.Summary.Warn, res.report.Summary.Error, res.report.Summary.Waived)
	}))
	mux.HandleFunc("GET /metrics", s.serve(func(w http.ResponseWriter, res *result) {
		if res.err != nil {
			http.Error(w, "audit failed: "+res.err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		_, _ = w.Write(res.metrics)
	}))
	mux.HandleFunc("GET /report.json", s.serve(func(w http.ResponseWriter, res *result) {
		if res.err != nil {
			http.Error(w, "audit failed: "+res.err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(res.json)
	}))
	return mux
}

// serve wraps a handler with the concurrency bound and the latest result.
func (s *Server) serve(h func(http.ResponseWriter, *result)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case s.sem <- struct{}{}:
			defer func() { <-s.sem }()
		case <-r.Context().Done():
			return
		}
		res, err := s.Latest(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Last-Modified", res.at.UTC().Format(http.TimeFormat))
		w.Header().Set("X-Msguard-Audit-Age-Seconds", strconv.Itoa(int(s.Now().Sub(res.at).Seconds())))
		h(w, res)
	}
}

// Serve runs an audit at once and then every Interval in the background,
// and serves the handler on l until ctx is done; it then shuts the server
// down, waiting a few seconds for requests in flight.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	s.runCtx = ctx
	s.init()
	srv := &http.Server{
		Handler:           http.TimeoutHandler(s.Handler(), 10*time.Minute, "audit timed out\n"),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      11 * time.Minute,
		IdleTimeout:       60 * time.Second,
		MaxHeaderBytes:    16 << 10,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	go func() {
		t := time.NewTicker(s.Interval)
		defer t.Stop()
		for {
			_, _ = s.Latest(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// ListenAddr checks a --serve address and returns what to listen on: an
// address without a host binds 127.0.0.1, and a host that is not a
// loopback address (or "localhost") is refused unless allowRemote.
func ListenAddr(addr string, allowRemote bool) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("--serve %q: want HOST:PORT or :PORT: %v", addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Errorf("--serve %q: port %q is not a number from 0 to 65535", addr, port)
	}
	if host == "" {
		return net.JoinHostPort("127.0.0.1", port), nil
	}
	if allowRemote || host == "localhost" {
		return addr, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return addr, nil
	}
	return "", fmt.Errorf("--serve %q: %s is not a loopback address; the report shows the host's configuration, pass --serve-allow-remote to serve it beyond this host", addr, host)
}
