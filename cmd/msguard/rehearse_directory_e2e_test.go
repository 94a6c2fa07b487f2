package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/simtest"
)

// externalDirectory is a simulated directory host (OpenLDAP slapd, made
// ready for 5.2 by ims_dssetup on its own host) whose slapd serves in a
// network namespace of its own, joined to the host by a veth pair: from
// the host it is another host at addr; a twin, whose network namespace
// has no veth, cannot reach it.
type externalDirectory struct {
	addr, url string
	conf      string   // its slapd.conf
	suffixes  []string // what it serves
	log       string   // its slapd's log (-d stats: every bind and operation)
}

// netSeq makes each test's veth pair and subnet its own.
var netSeq atomic.Int32

// newExternalDirectory stands the directory host up; prepared: ims_dssetup
// was run on it (the messaging schema and o=pab), as 5.2 needs.
func newExternalDirectory(t *testing.T, prepared bool) externalDirectory {
	t.Helper()
	ref, err := sim.LoadScenario(filepath.Join("..", "..", "testdata", "scenarios", "reference.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	h := simtest.New(t, func(sc *sim.Scenario) {
		root := sc.Root
		*sc = ref
		sc.Root, sc.Users, sc.Queue.Messages, sc.Queue.Held = root, 40, 10, 0
		// MSGUARD_REHEARSE_DIR_USERS=N measures the scratch copy at scale.
		if n, err := strconv.Atoi(os.Getenv("MSGUARD_REHEARSE_DIR_USERS")); err == nil && n > 0 {
			sc.Users, sc.Store.Mailboxes = n, 40
		}
		sc.Secrets.ProbeUID = "" // the default: the last of the users
		sc.DSVersion = "4.16"
		sc.PABMissing = !prepared // ims_dssetup.pl creates o=pab's entry
	})
	h.Start(t)
	ctx := context.Background()
	id := h.State.Scenario.DSInstances[0]
	// ims_dssetup on the directory's own host: the messaging schema
	// (inetMailUser, which Debian's OpenLDAP does not know) and o=pab.
	if prepared {
		if err := directory.ApplyDSSetup(ctx, h.State, id, h.State.Scenario.Secrets.DirectoryManager); err != nil {
			t.Fatal(err)
		}
	}
	if err := directory.Stop(ctx, h.State, id, io.Discard); err != nil {
		t.Fatal(err)
	}

	n := int(netSeq.Add(1)) + os.Getpid()%200
	ns := fmt.Sprintf("msguard-dir-%d-%d", os.Getpid(), n)
	vh, vn := fmt.Sprintf("mgd%dh", n), fmt.Sprintf("mgd%dn", n)
	d := externalDirectory{addr: fmt.Sprintf("10.203.%d.2", n%250), conf: filepath.Join(h.State.Paths().Slapd(id), "config", "slapd.conf"),
		suffixes: []string{directory.UserSuffix, directory.PABSuffix, directory.ConfigSuffix}, log: filepath.Join(t.TempDir(), "slapd.log")}
	d.url = "ldap://" + d.addr + ":389/" + directory.UserSuffix
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "add", vh, "type", "veth", "peer", "name", vn)
	t.Cleanup(func() { exec.Command("ip", "link", "del", vh).Run() })
	ip("link", "set", vn, "netns", ns)
	ip("addr", "add", fmt.Sprintf("10.203.%d.1/30", n%250), "dev", vh)
	ip("link", "set", vh, "up")
	ip("netns", "exec", ns, "ip", "addr", "add", d.addr+"/30", "dev", vn)
	ip("netns", "exec", ns, "ip", "link", "set", vn, "up")
	ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")

	logf, err := os.Create(d.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	slapd := exec.Command("ip", "netns", "exec", ns, "/usr/sbin/slapd", "-d", "stats", "-f", d.conf, "-h", "ldap://"+d.addr+":389/")
	slapd.Stdout, slapd.Stderr = logf, logf
	if err := slapd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slapd.Process.Kill(); slapd.Wait() })
	exited := make(chan error, 1)
	go func() { exited <- slapd.Wait() }()
	for {
		if c, err := net.DialTimeout("tcp", d.addr+":389", time.Second); err == nil {
			c.Close()
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(d.log)
			t.Fatalf("the external directory's slapd exited: %v\n%s", err, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return d
}

// export is the directory's content, every suffix (slapcat: every
// attribute, the operational ones included, so a write of any kind shows).
func (d externalDirectory) export(t *testing.T) []byte {
	t.Helper()
	var all bytes.Buffer
	for _, s := range d.suffixes {
		out, err := exec.Command("/usr/sbin/slapcat", "-f", d.conf, "-b", s).Output()
		if err != nil {
			t.Fatalf("slapcat %s: %v", s, err)
		}
		all.Write(out)
	}
	return all.Bytes()
}

// binds counts the binds as dn in a slapd -d stats log.
func binds(t *testing.T, log, dn string) int {
	t.Helper()
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(strings.ToLower(string(b)), `bind dn="`+strings.ToLower(dn)+`"`)
}

// externalDirectoryWaivers: with no local slapd-*, the policies cannot
// tell the directory's version; the operator waives them (contract.md).
func externalDirectoryWaivers(t *testing.T) string {
	t.Helper()
	waivers := filepath.Join(t.TempDir(), "waivers.yaml")
	w := "waivers:\n"
	for _, k := range []string{"preflight.ds.version_unknown", "postflight.ds.version"} {
		w += "  - key: " + k + "\n    reason: the directory is on another host\n    approver: ops@siroe.com\n    expires: 2099-12-31\n"
	}
	if err := os.WriteFile(waivers, []byte(w), 0o600); err != nil {
		t.Fatal(err)
	}
	return waivers
}

// TestRehearseExternalDirectory rehearses a host whose directory is on
// another host (its own network namespace behind a veth pair): the twin
// serves a scratch copy of it, loaded from a read-only export, on the
// directory's address; the twin's installers bind to the scratch copy and
// never to production's, whose entries are identical after the
// rehearsal; the real remediate afterwards runs the same steps to the
// same end, against production's directory.
func TestRehearseExternalDirectory(t *testing.T) {
	dir := newExternalDirectory(t, true)
	r := newRehearsalHost(t, func(sc *sim.Scenario) {
		sc.DSExternal, sc.DSExternalURL, sc.DSInstances = true, dir.url, nil
		sc.DSVersion = "4.16" // upgraded on its own host, as 5.2 needs
	})
	waivers := externalDirectoryWaivers(t)
	pids, version, ports := productionState(t, r)
	exportBefore := dir.export(t)
	const configAdmin = "uid=admin,ou=Administrators,ou=TopologyManagement,o=NetscapeRoot"
	adminBindsBefore := binds(t, dir.log, configAdmin)

	scratch := filepath.Join(t.TempDir(), "scratch")
	// Production serves throughout: its ports answer, its directory too.
	if ports["ldap"] != 389 {
		t.Fatalf("production's ports: %v, want the directory's (ldap) at 389", ports)
	}
	stop := make(chan struct{})
	fails, wait := probeHost(dir.addr, ports, stop)
	code, out, rh := r.rehearseBinary(t, scratch, "--waivers", waivers)
	close(stop)
	wait()
	if len(*fails) > 0 {
		t.Errorf("production's ports failed during the rehearsal: %v", *fails)
	}
	if code != exitcode.OK {
		t.Fatalf("rehearse: exit %d\n%s", code, out)
	}
	for _, want := range []string{"twin: scratch directory for " + dir.url, "scratch copy of " + dir.url, "production untouched"} {
		if !strings.Contains(out, want) {
			t.Errorf("rehearse output lacks %q:\n%s", want, out)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "twin: scratch directory") || strings.Contains(l, "window:") {
			t.Log(l)
		}
	}
	if rh.Directory == nil || rh.Directory.URL != dir.url || len(rh.Directory.Suffixes) != 3 || rh.Directory.Entries == 0 {
		t.Errorf("the rehearsal report's directory: %+v", rh.Directory)
	}
	// The twin's setup -k bound as the configuration administrator: to
	// the scratch copy, never to production's directory.
	scratchLog := filepath.Join(scratch, "directory", "slapd.log")
	if n := binds(t, scratchLog, configAdmin); n == 0 {
		t.Errorf("the scratch directory saw no bind as %s (the twin's setup -k)", configAdmin)
	}
	if n := binds(t, dir.log, configAdmin); n != adminBindsBefore {
		t.Errorf("production's directory saw %d binds as %s during the rehearsal", n-adminBindsBefore, configAdmin)
	}
	// ims_dssetup's schema came from production's subschema: Debian's
	// OpenLDAP does not know inetMailUser, and the twin found it.
	if got := stepOutcome(rh, "post.dssetup"); got != "done" {
		t.Errorf("post.dssetup in the twin: %q, want done (the scratch copy lacks ims_dssetup's schema or o=pab?)\n%s", got, out)
	}
	if exportAfter := dir.export(t); !bytes.Equal(exportBefore, exportAfter) {
		t.Errorf("production's directory changed during the rehearsal (%d bytes of slapcat before, %d after)", len(exportBefore), len(exportAfter))
	}
	pidsAfter, versionAfter, _ := productionState(t, r)
	if !slices.Equal(pids, pidsAfter) || version != versionAfter {
		t.Errorf("production changed: pids %v -> %v, version %s -> %s", pids, pidsAfter, version, versionAfter)
	}
	if left := twinMountsLeft(t, scratch); len(left) > 0 {
		t.Errorf("the twin's mounts are left: %v", left)
	}
	if !rh.Production.Untouched {
		t.Errorf("production: %+v", rh.Production)
	}

	r.realRunMatches(t, rh, exitcode.OK, "--waivers", waivers)
	// The real run reached production's directory itself.
	if n := binds(t, dir.log, configAdmin); n == adminBindsBefore {
		t.Errorf("the real run's setup -k never bound to production's directory")
	}
}

// TestRehearseExternalDirectoryNotPrepared: a directory on another host
// that ims_dssetup.pl has not prepared (no messaging schema, no o=pab)
// makes remediate refuse before it changes anything (exit 3); the
// rehearsal, on the scratch copy, says so too, and so does the real run
// afterwards; production's directory is left as it was.
func TestRehearseExternalDirectoryNotPrepared(t *testing.T) {
	dir := newExternalDirectory(t, false)
	dir.suffixes = []string{directory.UserSuffix, directory.ConfigSuffix}
	if dir.hasPAB(t) {
		t.Fatal("the unprepared directory holds o=pab")
	}
	r := newRehearsalHost(t, func(sc *sim.Scenario) {
		sc.DSExternal, sc.DSExternalURL, sc.DSInstances = true, dir.url, nil
		sc.DSVersion = "4.16"
	})
	waivers := externalDirectoryWaivers(t)
	exportBefore := dir.export(t)
	scratch := filepath.Join(t.TempDir(), "scratch")
	code, out, rh := r.rehearseBinary(t, scratch, "--waivers", waivers)
	const refusal = "lacks ims_dssetup.pl's schema (inetMailUser) or o=pab: run msg52/ims_dssetup.pl from the 5.2 media on the directory's own host first"
	if code != exitcode.NotReady || rh == nil || rh.RemediateExitCode != exitcode.NotReady || !strings.Contains(out, refusal) {
		t.Fatalf("rehearse: exit %d, want %d with %q\n%s", code, exitcode.NotReady, refusal, out)
	}
	if !strings.Contains(out, "twin: scratch directory for "+dir.url+": ") || rh.Directory == nil {
		t.Errorf("the rehearsal did not run against a scratch copy:\n%s", out)
	}
	if !bytes.Equal(exportBefore, dir.export(t)) {
		t.Errorf("production's directory changed during the rehearsal")
	}
	t.Setenv("PATH", r.h.Paths.ClusterBin()+string(os.PathListSeparator)+os.Getenv("PATH"))
	realCode, stdout, stderr := msguardRun(t, "remediate", "--server-root", r.h.Root, "--bind-password-file", r.dmPW,
		"--state-dir", filepath.Join(t.TempDir(), "state"), "--media", r.media, "--admin-password-file", r.adminPW,
		"--backup-dir", filepath.Join(t.TempDir(), "backup"), "--waivers", waivers, "--yes", "--no-progress", "-q")
	if realCode != rh.RemediateExitCode || !strings.Contains(stdout+stderr, refusal) {
		t.Errorf("the real remediate: exit %d (the rehearsal said %d)\n%s\n%s", realCode, rh.RemediateExitCode, stdout, stderr)
	}
}

// hasPAB reports whether the directory serves o=pab (its slapd.conf).
func (d externalDirectory) hasPAB(t *testing.T) bool {
	t.Helper()
	out, err := exec.Command("/usr/sbin/slapcat", "-f", d.conf, "-b", directory.PABSuffix).Output()
	return err == nil && len(bytes.TrimSpace(out)) > 0
}

// TestRehearseExternalDirectoryRefused: a directory on another host that
// cannot be exported (nothing listens there) is refused before the twin
// starts: one line naming the export, exit 2, nothing touched.
func TestRehearseExternalDirectoryRefused(t *testing.T) {
	// 127.0.0.1 is this host: an address of the veth's subnet that no
	// namespace holds is another host, unreachable.
	n := int(netSeq.Add(1)) + os.Getpid()%200
	url := fmt.Sprintf("ldap://10.203.%d.2:389/o=siroe.com", n%250)
	r := newRehearsalHost(t, func(sc *sim.Scenario) {
		sc.DSExternal, sc.DSExternalURL, sc.DSInstances = true, url, nil
		sc.DSVersion = "4.16"
	})
	contentBefore := treeContent(t, r.h.Root)
	scratch := filepath.Join(t.TempDir(), "scratch")
	code, out, _ := r.rehearseBinary(t, scratch, "--timeout", "3s")
	if code != exitcode.Usage {
		t.Fatalf("rehearse: exit %d, want %d\n%s", code, exitcode.Usage, out)
	}
	line := strings.TrimSpace(out)
	if strings.Contains(line, "\n") || !strings.HasPrefix(line, "msguard: scratch directory: export of "+url) || !strings.HasSuffix(line, "nothing was touched") {
		t.Errorf("refusal: %q; want one line naming the export of %s", line, url)
	}
	if after := treeContent(t, r.h.Root); len(after) != len(contentBefore) {
		t.Errorf("production's tree changed: %d entries, now %d", len(contentBefore), len(after))
	}
}
