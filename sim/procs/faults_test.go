package procs

import (
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
)

// TestDiesAfterStart: the daemon named by FailSpec.DiesAfterStart starts
// and answers, so start-msg reports it started, then exits about a second
// later, but only once the installed version is 5.2.
func TestDiesAfterStart(t *testing.T) {
	tests := []struct {
		version  string
		wantDies bool
	}{
		{"5.1", false},
		{"5.2 HotFix 1.02", true},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			st, fp := newHost(t, func(s *sim.Scenario) {
				s.MsgVersion, s.WebServer, s.Fail.DiesAfterStart = tt.version, "", "imapd"
			})
			p := st.Paths()
			out := mustRun(t, filepath.Join(p.Inst(), "start-msg"))
			defer mustRun(t, filepath.Join(p.Inst(), "stop-msg"))
			if !strings.Contains(out, "Starting imapd server .... ") {
				t.Fatalf("start-msg did not report imapd started:\n%s", out)
			}
			answers := func(port int) bool {
				c, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), time.Second)
				if err != nil {
					return false
				}
				c.Close()
				return true
			}
			deadline := time.Now().Add(5 * time.Second)
			for answers(fp.imap) && time.Now().Before(deadline) {
				time.Sleep(100 * time.Millisecond)
			}
			if got := !answers(fp.imap); got != tt.wantDies {
				t.Errorf("imapd gone 5 s after start-msg: %v, want %v", got, tt.wantDies)
			}
			if pid := readPidFile(pidFile(p, "imapd")); (pid == 0) != tt.wantDies {
				t.Errorf("imapd pid file names %d; want it removed: %v", pid, tt.wantDies)
			}
			if !answers(fp.pop) {
				t.Errorf("popd died too")
			}
		})
	}
}
