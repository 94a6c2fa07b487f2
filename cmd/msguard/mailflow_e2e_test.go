package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
)

// debianPython is the Debian python3 whose smtplib, imaplib and poplib
// are the independent client (make deps installs it).
const debianPython = "/usr/bin/python3"

// plainClient is what mailflow_client.py saw.
type plainClient struct {
	Tag    string
	Submit struct {
		OK    bool
		Reply string
	}
	IMAP, POP3 struct {
		OK, Login, Found bool
		Reply            string
	}
}

// TestMailFlowEndToEnd upgrades the reference host with msguard remediate
// and probes its mail flow with msguard check --phase postflight: the probe
// passes; each fault msguard-sim plants (delivery stops, IMAP refuses
// logins, SMTP refuses relaying for the probe's domain) fails it naming
// the right leg and the server's reply; after each run the probe's
// message is neither in the store (its files read directly) nor in the
// queue. Python's smtplib/imaplib/poplib, an independent client, then
// submit and fetch on the same host: what they see matches what msguard
// reported, leg by leg. Last, msguard audit carries the probe (latency
// judged, one HTML line per leg) and without a probe account skips it.
func TestMailFlowEndToEnd(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		t.Fatalf("%s: %v (make deps installs python3)", debianPython, err)
	}
	ref, err := sim.LoadScenario(filepath.Join("..", "..", "testdata", "scenarios", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := simtest.New(t, func(sc *sim.Scenario) {
		root := sc.Root
		*sc = ref
		sc.Root, sc.Users, sc.Queue.Messages, sc.Queue.Held = root, 40, 100, 5
		sc.Secrets.ProbeUID = "" // the last of the 40 users
	})
	h.Start(t)
	sc := h.State.Scenario
	dir := t.TempDir()
	mediaDir := filepath.Join(dir, "media")
	if err := media.WriteMedia(mediaDir, simtest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	adminPW, probePW := filepath.Join(dir, "admin.pw"), filepath.Join(dir, "probe.pw")
	if err := os.WriteFile(adminPW, []byte(sc.Secrets.ConfigAdmin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(probePW, []byte(sc.Secrets.ProbePassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	common := []string{"--server-root", h.Root, "--bind-password-file", h.DMPasswordFile(t), "--state-dir", filepath.Join(dir, "state"), "-q"}
	remediateArgs := append([]string{"remediate", "--media", mediaDir, "--admin-password-file", adminPW,
		"--backup-dir", filepath.Join(dir, "backup"), "--yes", "--no-progress"}, common...)
	if code, stdout, stderr := msguardRun(t, remediateArgs...); code != exitcode.OK {
		t.Fatalf("remediate: exit %d\n%s\n%s", code, stdout, stderr)
	}
	probeArgs := []string{"--probe-user", sc.Secrets.ProbeUID, "--probe-password-file", probePW, "--probe-timeout", "5s"}

	check := func(t *testing.T) *judgement.Report {
		t.Helper()
		args := append(append([]string{"check", "--phase", "postflight", "--format", "json"}, common...), probeArgs...)
		code, stdout, stderr := msguardRun(t, args...)
		if code != exitcode.OK && code != exitcode.NotReady {
			t.Fatalf("check: exit %d\n%s", code, stderr)
		}
		var r judgement.Report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("check: %v\n%s", err, stdout)
		}
		if strings.Contains(stdout+stderr, sc.Secrets.ProbePassword) {
			t.Errorf("the probe password is in msguard's output")
		}
		return &r
	}
	client := func(t *testing.T) plainClient {
		t.Helper()
		cmd := exec.Command(debianPython, filepath.Join("testdata", "mailflow_client.py"),
			strconv.Itoa(sc.Ports.SMTP), strconv.Itoa(sc.Ports.IMAP), strconv.Itoa(sc.Ports.POP),
			sc.Secrets.ProbeUID, sc.Secrets.ProbeUID+"@siroe.com", "5")
		cmd.Env = append(os.Environ(), "PROBE_PASSWORD="+sc.Secrets.ProbePassword)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("mailflow_client.py: %v\n%s", err, stderr.String())
		}
		var c plainClient
		if err := json.Unmarshal(out, &c); err != nil {
			t.Fatalf("mailflow_client.py: %v\n%s", err, out)
		}
		return c
	}

	cases := []struct {
		name, fault, domain string
		// failed is the key that must deny and the leg it names; "" for none.
		failedKey, failedLeg string
		legs                 [4]string // submit, delivery, imap, pop3
	}{
		{name: "upgraded host", legs: [4]string{facts.LegOK, facts.LegOK, facts.LegOK, facts.LegOK}},
		{name: "delivery stops", fault: sim.FaultDeliveryStops, failedKey: "postflight.mailflow.delivery", failedLeg: "delivery leg failed",
			legs: [4]string{facts.LegOK, facts.LegFailed, facts.LegNotRun, facts.LegNotRun}},
		{name: "IMAP refuses logins", fault: sim.FaultIMAPRefusesLogins, failedKey: "postflight.mailflow.fetch", failedLeg: "imap leg failed",
			legs: [4]string{facts.LegOK, facts.LegOK, facts.LegFailed, facts.LegOK}},
		{name: "SMTP refuses relaying for the probe's domain", fault: sim.FaultSMTPRelayDenied, domain: "siroe.com",
			failedKey: "postflight.mailflow.submit", failedLeg: "submit leg failed",
			legs: [4]string{facts.LegFailed, facts.LegNotRun, facts.LegNotRun, facts.LegNotRun}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.fault != "" {
				if err := sim.PlantFault(h.Root, tc.fault, tc.domain, true); err != nil {
					t.Fatal(err)
				}
			}
			r := check(t)
			mf := r.MailFlow
			if mf == nil || mf.Skipped != "" {
				t.Fatalf("no probe in the report: %+v", mf)
			}
			legs := []*facts.MailFlowLeg{mf.Submit, mf.Delivery, mf.IMAP, mf.POP3}
			for i, name := range []string{"submit", "delivery", "imap", "pop3"} {
				if legs[i] == nil || legs[i].Result != tc.legs[i] {
					t.Errorf("%s leg: %+v, want %s", name, legs[i], tc.legs[i])
				}
			}
			for _, key := range []string{"postflight.mailflow.submit", "postflight.mailflow.delivery", "postflight.mailflow.fetch"} {
				deny := findingOf(r, key, judgement.SeverityDeny)
				switch {
				case key == tc.failedKey && deny == nil:
					t.Errorf("%s: no deny; findings %v", key, keysOf(r))
				case key == tc.failedKey && !strings.Contains(deny.Msg, tc.failedLeg):
					t.Errorf("%s: %q does not name the leg (%q)", key, deny.Msg, tc.failedLeg)
				case key != tc.failedKey && deny != nil:
					t.Errorf("%s denies, but the fault is elsewhere: %s", key, deny.Msg)
				case tc.failedKey == "" && !slices.Contains(r.Passed, key):
					t.Errorf("%s did not pass on the healthy host", key)
				}
			}
			if mf.Cleanup == nil || !mf.Cleanup.Clean {
				t.Errorf("cleanup: %+v", mf.Cleanup)
			}
			// Never left behind: read the store's files and the queue.
			if files := filesHolding(t, h.Paths.Store(), mf.Tag); len(files) > 0 {
				t.Errorf("the probe's message is still in the store: %v", files)
			}
			if files := filesHolding(t, h.Paths.Queue(), mf.Tag); len(files) > 0 {
				t.Errorf("the probe's message is still in the queue: %v", files)
			}

			// An independent client on the same host sees what msguard saw.
			c := client(t)
			if c.Submit.OK != (mf.Submit.Result == facts.LegOK) {
				t.Errorf("submit: the plain client %+v, msguard %+v", c.Submit, mf.Submit)
			}
			if !c.Submit.OK && (c.Submit.Reply == "" || !strings.Contains(mf.Submit.Reply, c.Submit.Reply)) {
				t.Errorf("submit reply: the plain client %q, msguard %q", c.Submit.Reply, mf.Submit.Reply)
			}
			delivered := c.IMAP.Found || c.POP3.Found
			if c.Submit.OK && delivered != (mf.Delivery.Result == facts.LegOK) {
				t.Errorf("delivery: the plain client found its message %v (imap %+v, pop3 %+v), msguard %+v", delivered, c.IMAP, c.POP3, mf.Delivery)
			}
			if delivered {
				if c.IMAP.OK != (mf.IMAP.Result == facts.LegOK) || c.POP3.OK != (mf.POP3.Result == facts.LegOK) {
					t.Errorf("fetch: the plain client imap %+v pop3 %+v; msguard imap %+v pop3 %+v", c.IMAP, c.POP3, mf.IMAP, mf.POP3)
				}
				if !c.IMAP.OK && (mf.IMAP.Reply == "" || !strings.Contains(c.IMAP.Reply, mf.IMAP.Reply)) {
					t.Errorf("imap reply: the plain client %q, msguard %q", c.IMAP.Reply, mf.IMAP.Reply)
				}
			}
			// The plain client cannot take its undelivered message out of
			// the queue: the test does, before delivery resumes.
			for _, f := range filesHolding(t, h.Paths.Queue(), c.Tag) {
				if err := os.Remove(f); err != nil {
					t.Fatal(err)
				}
			}
			if tc.fault != "" {
				if err := sim.PlantFault(h.Root, tc.fault, tc.domain, false); err != nil {
					t.Fatal(err)
				}
			}
			if files := filesHolding(t, h.Paths.Store(), c.Tag); len(files) > 0 {
				t.Errorf("the plain client's message is still in the store: %v", files)
			}
		})
	}

	t.Run("audit", func(t *testing.T) {
		html := filepath.Join(dir, "audit.html")
		args := append(append([]string{"audit", "--format", "json", "--report", "html=" + html}, common...), probeArgs...)
		_, stdout, stderr := msguardRun(t, args...)
		var r judgement.Report
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatalf("audit: %v\n%s\n%s", err, stdout, stderr)
		}
		if r.MailFlow == nil || r.MailFlow.Submit == nil || r.MailFlow.POP3 == nil || r.MailFlow.POP3.Result != facts.LegOK {
			t.Fatalf("audit report without the probe: %+v", r.MailFlow)
		}
		for _, k := range []string{"postflight.mailflow.submit", "postflight.mailflow.delivery", "postflight.mailflow.fetch", "audit.mailflow.latency"} {
			if !slices.Contains(r.Passed, k) {
				t.Errorf("audit: %s did not pass (findings %v)", k, keysOf(&r))
			}
		}
		b, err := os.ReadFile(html)
		if err != nil {
			t.Fatal(err)
		}
		for _, leg := range []string{"submit", "delivery", "imap", "pop3"} {
			if !strings.Contains(string(b), `<tr class="ok"><td>`+leg+`</td><td>ok</td><td>`) {
				t.Errorf("the HTML report has no line for the %s leg", leg)
			}
		}

		// No probe account: skipped and said so, never passed.
		_, stdout, _ = msguardRun(t, append([]string{"audit", "--format", "json"}, common...)...)
		r = judgement.Report{}
		if err := json.Unmarshal([]byte(stdout), &r); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"postflight.mailflow.submit", "postflight.mailflow.delivery", "postflight.mailflow.fetch", "audit.mailflow.latency"} {
			if f := findingOf(&r, k, judgement.SeveritySkip); f == nil || !strings.Contains(f.Msg, "no probe account") {
				t.Errorf("without a probe account %s is not skipped: %+v", k, f)
			}
			if slices.Contains(r.Passed, k) {
				t.Errorf("without a probe account %s passed", k)
			}
		}
	})
}

// findingOf returns the first finding of key with severity sev, or nil.
func findingOf(r *judgement.Report, key, sev string) *judgement.Finding {
	for i := range r.Findings {
		if r.Findings[i].Key == key && r.Findings[i].Severity == sev {
			return &r.Findings[i]
		}
	}
	return nil
}

// filesHolding lists the regular files below dir whose content holds s.
func filesHolding(t *testing.T, dir, s string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if bytes.Contains(b, []byte(s)) {
				out = append(out, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return out
}
