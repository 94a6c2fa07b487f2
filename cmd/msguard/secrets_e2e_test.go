package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/judgement"
	"github.com/msguard/msguard/reports"
	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/media"
	"github.com/msguard/msguard/sim/simtest"
	"github.com/msguard/msguard/sim/tree"
)

// secretsScenario is a small 5.1 host whose installer passwords are all
// distinct, with a Service Administrator that is not "ServiceAdmin" (so
// that remediate asks for its password) and a Web Server and DA whose
// configuration files get planted secrets too.
func secretsScenario(s *sim.Scenario) {
	s.MsgVersion, s.DSVersion, s.WebServer, s.DA = "5.1", "4.13", "6.0SP1", "1.1"
	s.Users, s.PAB = 12, 4
	s.Queue = sim.QueueSpec{Messages: 20, Held: 2, Temp: 1}
	s.Store = sim.StoreSpec{Mailboxes: 12, MessagesPerBox: 1}
	s.MailLog = sim.MailLogSpec{E: 4, D: 4, J: 1}
	s.Secrets = sim.Secrets{
		DirectoryManager: "sw-DM-Secret-01", ConfigAdmin: "sw-Admin-Secret-02",
		ServiceAdminID: "mailadmin", ServiceAdmin: "sw-Svc-Secret-03",
		UGBindCred: "sw-UG-Secret-04", PABPassword: "sw-PAB-Secret-05",
	}
}

// planted is one secret put on the host, and where.
type planted struct {
	where, value string
}

// TestNoSecretLeaks plants secrets of every kind msguard may meet on a
// host (installer passwords in install.inf, the directory passwords of
// local.conf, passwords on another process's command line, a user's
// password and its hash from the directory, a private key in the
// configuration directory, password hashes, URL and key=value passwords in
// the Web Server's files, the passwords msguard is given through files and
// the environment), then runs every command in every output format at
// debug level with JSON logs, and checks that none of the planted strings
// appears in any stdout, stderr, report, snapshot, history file, metrics
// file, script or bundle. It also checks that msguard did read what was
// planted (so the sweep cannot pass by not looking).
func TestNoSecretLeaks(t *testing.T) {
	h := simtest.New(t, secretsScenario)
	sc := h.State.Scenario
	inst := h.Paths.Inst()
	wsInst := tree.WebServerInstance(&sc)
	secrets := []planted{
		{"install.inf RootDNPwd, MSGUARD_BIND_PASSWORD, the bind password file", sc.Secrets.DirectoryManager},
		{"install.inf ConfigDirectoryAdminPwd, --admin-password-file", sc.Secrets.ConfigAdmin},
		{"install.inf ServiceAdminPassword, MSGUARD_SERVICE_ADMIN_PASSWORD", sc.Secrets.ServiceAdmin},
		{"local.ugldapbindcred", sc.Secrets.UGBindCred},
		{"local.service.pab.ldappasswd", sc.Secrets.PABPassword},
		{"the mail-flow probe's password: --probe-password-file, MSGUARD_PROBE_PASSWORD", sc.Secrets.ProbePassword},
	}
	plant := func(where, value string) string {
		secrets = append(secrets, planted{where, value})
		return value
	}
	appendTo := func(path, text string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(text); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	writeFile := func(path, text string, mode os.FileMode) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(text), mode); err != nil {
			t.Fatal(err)
		}
	}

	// Configuration values: a password hash under an innocent key, a
	// pass phrase, the old PAB password in the backup.<timestamp> copy
	// that setup -k leaves (postflight compares it with the new file).
	hash := sshaOf("sw-Hash-Plain-06")
	plant("{SSHA} hash in local.conf", strings.TrimPrefix(hash, "{SSHA}"))
	appendTo(tree.LocalConf(h.Paths), fmt.Sprintf("local.planted.admindigest = %q\nlocal.ssl.passphrase = %q\n",
		hash, plant("local.ssl.passphrase", "sw-Phrase-Secret-07")))
	writeFile(filepath.Join(inst, "backup.20260101093000", "config", "local.conf"),
		fmt.Sprintf("local.service.pab.ldappasswd = %q\nlocal.ugldapbindcred = %q\n",
			plant("local.conf of backup.<timestamp>", "sw-OldPAB-Secret-08"), sc.Secrets.UGBindCred), 0o600)
	// adm.conf: the SIE password.
	appendTo(filepath.Join(h.Root, "admin-serv", "config", "adm.conf"),
		"siepid: "+plant("adm.conf siepid", "sw-SIE-Secret-09")+"\n")
	// magnus.conf: a password= pair in a URL's query, a URL with user
	// information, a bindpw="..." pair in an Init line.
	appendTo(filepath.Join(wsInst, "config", "magnus.conf"), fmt.Sprintf(
		"LdapURL ldap://127.0.0.1:%d/o=siroe.com?password=%s\nDirectoryURL ldap://admin:%s@127.0.0.1:%d/o=NetscapeRoot\nInit fn=\"ldap-auth\" binddn=\"cn=Directory Manager\" bindpw=\"%s\"\n",
		sc.Ports.LDAP, plant("magnus.conf URL ?password=", "sw-Magnus-Secret-10"),
		plant("magnus.conf URL user:password@", "sw-MagnusURL-Secret-11"), sc.Ports.LDAP,
		plant("magnus.conf bindpw=", "sw-MagnusBind-Secret-12")))
	// servlets.properties: a password in the initArgs' LDAP URL.
	appendTo(filepath.Join(wsInst, "config", "servlets.properties"), fmt.Sprintf(
		"servlet.planted.initArgs=ldapurl=ldap://admin:%s@127.0.0.1/o=siroe.com,version=1.1,password=%s\n",
		plant("servlets.properties URL user:password@", "sw-PropURL-Secret-13"),
		plant("servlets.properties password=", "sw-Prop-Secret-14")))

	// A private key in INST/config.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	writeFile(filepath.Join(inst, "config", "server-key.pem"), pemText, 0o600)
	for _, line := range strings.Split(pemText, "\n") {
		if line != "" && !strings.HasPrefix(line, "-----") {
			plant("PEM private key in INST/config", line)
		}
	}

	h.Start(t)

	// A user's password, and its hash as the directory stores it, also in
	// an LDIF export left in the slapd instance.
	plant("a directory user's password", directory.UserPassword("user0001"))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	conn, err := directory.Connect(ctx, directory.URL(h.State, sc.DSInstances[0]), "cn=Directory Manager", sc.Secrets.DirectoryManager)
	if err != nil {
		t.Fatal(err)
	}
	res, err := conn.Search(ldap.NewSearchRequest("uid=user0001,"+directory.PeopleDN, ldap.ScopeBaseObject,
		ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"userPassword"}, nil))
	conn.Close()
	if err != nil || len(res.Entries) != 1 || res.Entries[0].GetAttributeValue("userPassword") == "" {
		t.Fatalf("read user0001's userPassword: %v", err)
	}
	userHash := res.Entries[0].GetAttributeValue("userPassword")
	if i := strings.IndexByte(userHash, '}'); i >= 0 {
		userHash = userHash[i+1:]
	}
	plant("userPassword hash in the directory and an LDIF export", userHash)
	writeFile(filepath.Join(h.Paths.Slapd(sc.DSInstances[0]), "ldif", "export.ldif"),
		fmt.Sprintf("dn: uid=user0001,%s\nuid: user0001\nuserPassword: {SSHA}%s\n", directory.PeopleDN, userHash), 0o600)

	// Another process of the install with passwords on its command line:
	// dash copied under ROOT/bin/msg/lib, waiting on its stdin.
	helper := filepath.Join(h.Paths.MsgLib(), "stored-helper")
	dash, err := os.ReadFile("/bin/dash")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(helper, dash, 0o755); err != nil {
		t.Fatal(err)
	}
	proc := exec.Command(helper, "-c", "read _; exit 0", "stored-helper",
		"-w", plant("-w on a command line", "sw-ProcW-Secret-15"),
		"--password", plant("--password on a command line", "sw-ProcPass-Secret-16"),
		"ldap://admin:"+plant("URL password on a command line", "sw-ProcURL-Secret-17")+"@127.0.0.1/",
		"--bindpw="+plant("--bindpw= on a command line", "sw-ProcBind-Secret-18"))
	stdin, err := proc.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close()
		if err := proc.Wait(); err != nil {
			t.Errorf("stored-helper: %v", err)
		}
	})

	// The passwords msguard is given.
	dir := t.TempDir()
	adminPW := filepath.Join(dir, "admin.pw")
	writeFile(adminPW, sc.Secrets.ConfigAdmin+"\n", 0o600)
	dmPW := h.DMPasswordFile(t)

	for _, s := range secrets {
		if len(s.value) < 8 {
			t.Fatalf("planted secret %q (%s) is too short to grep for", s.value, s.where)
		}
	}

	sw := &sweep{t: t, bin: simtest.MsguardBinary(t), out: filepath.Join(dir, "out"),
		env: append(os.Environ(), "MSGUARD_BIND_PASSWORD="+sc.Secrets.DirectoryManager,
			"MSGUARD_SERVICE_ADMIN_PASSWORD="+sc.Secrets.ServiceAdmin, "MSGUARD_PROBE_PASSWORD="+sc.Secrets.ProbePassword)}
	if err := os.MkdirAll(sw.out, 0o700); err != nil {
		t.Fatal(err)
	}
	o := sw.path
	state := o("state")
	live := []string{"--server-root", h.Root, "--state-dir", state}
	debug := []string{"--log-format", "json", "--log-level", "debug"}
	judged := []int{exitcode.OK, exitcode.NotReady}

	// collect, to a file and to stdout.
	sw.run("collect", nil, []int{exitcode.OK}, slices.Concat([]string{"collect", "-o", o("snapshot.json")}, live, debug)...)
	sw.run("collect stdout", nil, []int{exitcode.OK}, slices.Concat([]string{"collect"}, live, debug)...)

	// check: every phase, every format, live and from the snapshot.
	formats := reports.Formats()
	// Live, each phase writes every format (--report); from the snapshot,
	// each phase prints every format on stdout.
	for _, phase := range []string{"preflight", "quiesce", "postflight"} {
		args := slices.Concat([]string{"check", "--phase", phase, "--format", "text"}, live, debug)
		if phase == "postflight" {
			args = append(args, "--probe-user", sc.Secrets.ProbeUID) // the password from the environment
		}
		for _, f := range formats {
			args = append(args, "--report", f+"="+o("check-"+phase+"."+f))
		}
		sw.run("check "+phase, nil, judged, args...)
		for _, format := range formats {
			sw.run("check --snapshot "+phase+" "+format, nil, judged, slices.Concat([]string{"check", "--phase", phase,
				"--snapshot", o("snapshot.json"), "--format", format}, debug)...)
		}
	}
	// The bind password from a file rather than the environment.
	sw.run("check --bind-password-file", nil, judged, slices.Concat([]string{"check", "--phase", "preflight", "--bind-password-file", dmPW,
		"--format", "json", "-o", o("check-pwfile.json")}, live, debug)...)

	// The probe password from a file rather than the environment.
	probePW := filepath.Join(dir, "probe.pw")
	writeFile(probePW, sc.Secrets.ProbePassword+"\n", 0o600)
	sw.run("check --probe-password-file", nil, judged, slices.Concat([]string{"check", "--phase", "postflight", "--probe-user", sc.Secrets.ProbeUID,
		"--probe-password-file", probePW, "--format", "json", "-o", o("check-probe.json")}, live, debug)...)

	// report: re-render a saved report in every format.
	for _, format := range formats {
		sw.run("report "+format, nil, []int{exitcode.OK}, slices.Concat([]string{"report", "--from", o("check-preflight.json"),
			"--format", format, "--report", format + "=" + o("report."+format)}, debug)...)
	}
	sw.run("policy list", nil, []int{exitcode.OK}, slices.Concat([]string{"policy", "list"}, debug)...)

	// audit, twice, with the history and the metrics file; then the history.
	for i := range 2 {
		sw.run(fmt.Sprintf("audit %d", i), nil, judged, slices.Concat([]string{"audit", "--baseline", o("snapshot.json"),
			"--history", o("history"), "--metrics-file", o("msguard.prom"), "--format", "text", "--probe-user", sc.Secrets.ProbeUID,
			"--report", "json=" + o("audit.json"), "--report", "junit=" + o("audit.xml"), "--report", "html=" + o("audit.html")}, live, debug)...)
	}
	for _, format := range []string{"text", "json"} {
		sw.run("audit history "+format, nil, []int{exitcode.OK}, slices.Concat([]string{"audit", "history", "--history", o("history"), "--format", format}, debug)...)
	}

	// collect --emit-script | sh | ingest.
	script := sw.run("collect --emit-script", nil, []int{exitcode.OK}, slices.Concat([]string{"collect", "--emit-script", "--server-root", h.Root, "--state-dir", state}, debug)...)
	writeFile(o("collect.sh"), script, 0o700)
	sh := exec.Command("/bin/sh", o("collect.sh"))
	sh.Env = append(os.Environ(), "MSGUARD_BIND_PASSWORD_FILE="+dmPW)
	var bundle, shErr bytes.Buffer
	sh.Stdout, sh.Stderr = &bundle, &shErr
	if err := sh.Run(); err != nil {
		t.Fatalf("sh collect.sh: %v\n%s", err, shErr.String())
	}
	sw.record("collect.sh stderr", shErr.String())
	writeFile(o("host.bundle"), bundle.String(), 0o600)
	sw.run("ingest", nil, []int{exitcode.OK}, slices.Concat([]string{"ingest", o("host.bundle"), "-o", o("ingested.json")}, debug)...)
	sw.run("ingest -", bytes.NewReader(bundle.Bytes()), []int{exitcode.OK}, slices.Concat([]string{"ingest", "-"}, debug)...)
	sw.run("check ingested", nil, judged, slices.Concat([]string{"check", "--phase", "preflight", "--snapshot", o("ingested.json"), "--format", "sarif"}, debug)...)

	// audit --serve: every endpoint, then SIGTERM.
	sw.serve("audit --serve", slices.Concat([]string{"audit", "--serve", "127.0.0.1:0", "--baseline", o("snapshot.json"),
		"--report", "json=" + o("serve.json")}, live, debug), "/healthz", "/metrics", "/report.json")

	// remediate --plan, with every installer password given.
	mediaDir := filepath.Join(dir, "media")
	if err := media.WriteMedia(mediaDir, simtest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	sw.run("remediate --plan", nil, []int{exitcode.OK, exitcode.NotReady}, slices.Concat([]string{"remediate", "--plan", "--media", mediaDir,
		"--backup-dir", o("backup"), "--admin-password-file", adminPW}, live, debug)...)

	// Everything written is swept, decompressed where it is compressed.
	err = filepath.WalkDir(sw.out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(sw.out, p)
		sw.record(rel, string(b))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"snapshot.json", "check-preflight.sarif", "check-postflight.junit", "report.markdown",
		"audit.json", "msguard.prom", "serve.json", "collect.sh", "host.bundle", "ingested.json"} {
		if len(sw.texts[name]) == 0 {
			t.Errorf("%s was not written", name)
		}
	}
	if hist, _ := filepath.Glob(filepath.Join(sw.out, "history", "*.json")); len(hist) < 2 {
		t.Errorf("the history holds %d runs; want 2", len(hist))
	}
	for _, s := range secrets {
		for name, text := range sw.texts {
			for _, form := range []string{text, html.UnescapeString(text)} {
				if strings.Contains(form, s.value) {
					t.Errorf("planted secret %q (%s) appears in %s", s.value, s.where, name)
					break
				}
			}
		}
	}

	// The sweep means something only if msguard read what was planted:
	// the probe logged in with its password.
	for _, name := range []string{"check-postflight.json", "check-probe.json", "audit.json"} {
		r, err := judgement.DecodeReport(strings.NewReader(sw.texts[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.MailFlow == nil || r.MailFlow.IMAP == nil || r.MailFlow.IMAP.Result != facts.LegOK {
			b, _ := json.Marshal(r.MailFlow)
			t.Errorf("%s: the probe did not read its message over IMAP: %s", name, b)
		}
	}
	for _, name := range []string{"snapshot.json", "ingested.json"} {
		snap, err := facts.DecodeSnapshot(strings.NewReader(sw.texts[name]))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sawPlanted(t, name, snap, inst, wsInst, h.Root)
	}
	t.Logf("%d planted secrets, %d outputs swept", len(secrets), len(sw.texts))
}

// sawPlanted checks that a snapshot holds the planted process and
// configuration values, redacted.
func sawPlanted(t *testing.T, name string, snap *facts.Snapshot, inst, wsInst, root string) {
	t.Helper()
	var helper string
	for _, p := range snap.Processes.Daemons {
		if p.Daemon == "stored-helper" {
			helper = p.Cmdline
		}
	}
	if !strings.Contains(helper, "-w ***") || !strings.Contains(helper, "--password ***") {
		t.Errorf("%s: the stored-helper process is missing or not redacted: %q", name, helper)
	}
	values := map[string]map[string]string{}
	for _, f := range snap.Configs.Files {
		values[f.Name] = f.Values
	}
	rel := func(p string) string { r, _ := filepath.Rel(root, p); return filepath.ToSlash(r) }
	want := []struct{ file, key string }{
		{rel(filepath.Join(inst, "config", "local.conf")), "local.ugldapbindcred"},
		{rel(filepath.Join(inst, "config", "local.conf")), "local.planted.admindigest"},
		{rel(filepath.Join(inst, "backup.20260101093000", "config", "local.conf")), "local.service.pab.ldappasswd"},
		{"admin-serv/config/adm.conf", "siepid"},
		{rel(filepath.Join(wsInst, "config", "magnus.conf")), "LdapURL"},
		{rel(filepath.Join(wsInst, "config", "magnus.conf")), "DirectoryURL"},
		{rel(filepath.Join(wsInst, "config", "magnus.conf")), "Init"},
		{rel(filepath.Join(wsInst, "config", "servlets.properties")), "servlet.planted.initArgs"},
	}
	for _, w := range want {
		v, ok := values[w.file][w.key]
		if !ok || !strings.Contains(v, facts.Redacted) {
			t.Errorf("%s: %s %s = %q (present %v); want a redacted value", name, w.file, w.key, v, ok)
		}
	}
	if snap.Install == nil || snap.Install.InstallInf["msg"]["ServiceAdminPassword"] != facts.Redacted {
		t.Errorf("%s: install.inf ServiceAdminPassword not read and redacted: %+v", name, snap.Install)
	}
}

// sshaOf returns the {SSHA} hash of pw with a random salt.
func sshaOf(pw string) string {
	salt := make([]byte, 8)
	_, _ = rand.Read(salt)
	sum := sha1.Sum(append([]byte(pw), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(sum[:], salt...))
}

// sweep runs msguard commands and keeps every text they produce.
type sweep struct {
	t     *testing.T
	bin   string
	env   []string
	out   string
	texts map[string]string
}

func (s *sweep) path(name string) string { return filepath.Join(s.out, name) }

// record keeps a text to sweep; gzip-compressed data (a bundle) is
// expanded, and a tar's members are kept each under its own name.
func (s *sweep) record(name, text string) {
	if s.texts == nil {
		s.texts = map[string]string{}
	}
	s.texts[name] = text
	zr, err := gzip.NewReader(strings.NewReader(text))
	if err != nil {
		return
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		s.t.Errorf("%s: gunzip: %v", name, err)
		return
	}
	s.texts[name+" (gunzipped)"] = string(raw)
	tr := tar.NewReader(bytes.NewReader(raw))
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			return // not a tar
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			s.t.Errorf("%s: untar %s: %v", name, hdr.Name, err)
			return
		}
		s.texts[name+":"+hdr.Name] = string(b)
	}
}

// run runs msguard with args, checks the exit code is one of codes, keeps
// stdout and stderr, and returns stdout.
func (s *sweep) run(label string, stdin io.Reader, codes []int, args ...string) string {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	if stdin == nil {
		stdin = strings.NewReader("")
	}
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		s.t.Fatalf("%s: %v", label, err)
	}
	if !slices.Contains(codes, code) {
		s.t.Errorf("%s: exit %d; want one of %v\nstderr: %s", label, code, codes, stderr.String())
	}
	if stdout.Len() == 0 && !slices.Contains(args, "-o") {
		s.t.Errorf("%s: nothing on stdout", label)
	}
	// The JSON logs must be JSON: a line that is not could hide a raw dump.
	for _, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if line != "" && strings.HasPrefix(line, "{") && !json.Valid([]byte(line)) {
			s.t.Errorf("%s: stderr line is not JSON: %s", label, line)
		}
	}
	s.record(label+" stdout", stdout.String())
	s.record(label+" stderr", stderr.String())
	return stdout.String()
}

// TestNoSecretLeaksRemediate runs a real remediate on a host with the
// installer passwords planted (a Service Administrator that is not
// ServiceAdmin, so its password is asked; the admin password from
// --admin-password-file, the Service Administrator's from
// MSGUARD_SERVICE_ADMIN_PASSWORD, the bind password from
// MSGUARD_BIND_PASSWORD) and checks that none of them appears in its
// stdout and stderr (JSON logs at debug level), in the journal, in the
// installers' transcripts or in the baseline snapshot it saves. The
// backups themselves hold secrets by necessity and are not swept.
func TestNoSecretLeaksRemediate(t *testing.T) {
	h := simtest.New(t, func(s *sim.Scenario) {
		secretsScenario(s)
		s.DSVersion, s.WebServer, s.DA = "4.16", "", ""
	})
	h.Start(t)
	sc := h.State.Scenario
	secrets := []string{sc.Secrets.DirectoryManager, sc.Secrets.ConfigAdmin, sc.Secrets.ServiceAdmin,
		sc.Secrets.UGBindCred, sc.Secrets.PABPassword, directory.UserPassword("user0001")}
	dir := t.TempDir()
	adminPW := filepath.Join(dir, "admin.pw")
	if err := os.WriteFile(adminPW, []byte(sc.Secrets.ConfigAdmin+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mediaDir := filepath.Join(dir, "media")
	if err := media.WriteMedia(mediaDir, simtest.Binary(t)); err != nil {
		t.Fatal(err)
	}
	sw := &sweep{t: t, bin: simtest.MsguardBinary(t), out: filepath.Join(dir, "out"),
		env: append(os.Environ(), "MSGUARD_BIND_PASSWORD="+sc.Secrets.DirectoryManager,
			"MSGUARD_SERVICE_ADMIN_PASSWORD="+sc.Secrets.ServiceAdmin)}
	backup := filepath.Join(dir, "backup")
	sw.run("remediate", nil, []int{exitcode.OK}, "remediate", "--server-root", h.Root, "--state-dir", filepath.Join(dir, "state"),
		"--media", mediaDir, "--backup-dir", backup, "--admin-password-file", adminPW, "--yes",
		"--log-format", "json", "--log-level", "debug")

	// The run's own records: the journal, the transcripts, the reports and
	// snapshots it keeps; not the backup copies of the host.
	var swept, skipped []string
	err := filepath.WalkDir(backup, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(backup, p)
		top := !strings.Contains(rel, string(filepath.Separator))
		if strings.HasPrefix(rel, "transcripts"+string(filepath.Separator)) ||
			(top && (strings.HasSuffix(rel, ".log") || strings.HasSuffix(rel, ".json"))) {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sw.record(rel, string(b))
			swept = append(swept, rel)
		} else if top {
			skipped = append(skipped, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swept %v; not swept (backups): %v", swept, skipped)
	if !slices.Contains(swept, "journal.log") {
		t.Errorf("no journal.log in %s", backup)
	}
	transcripts := 0
	for _, s := range swept {
		if strings.HasPrefix(s, "transcripts") {
			transcripts++
		}
	}
	if transcripts == 0 {
		t.Errorf("no installer transcript in %s", backup)
	}
	for _, s := range secrets {
		for name, text := range sw.texts {
			if strings.Contains(text, s) {
				t.Errorf("secret %q appears in %s", s, name)
			}
		}
	}
}

// serve starts a long-running msguard command that announces "serving
// http://ADDR/..." on stderr, gets each path from it, stops it with
// SIGTERM, and keeps the bodies, stdout and stderr.
func (s *sweep) serve(label string, args []string, paths ...string) {
	s.t.Helper()
	cmd := exec.Command(s.bin, args...)
	cmd.Env = s.env
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	pr, pw := io.Pipe()
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	var stderr bytes.Buffer
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sent := false
		for sc := bufio.NewScanner(pr); sc.Scan(); {
			line := sc.Text()
			stderr.WriteString(line + "\n")
			if _, rest, ok := strings.Cut(line, "serving http://"); ok && !sent {
				addr <- strings.SplitN(rest, "/", 2)[0]
				sent = true
			}
		}
		if !sent {
			close(addr)
		}
	}()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		pw.Close()
		<-copied
		var ee *exec.ExitError
		if err != nil && (!errors.As(err, &ee) || ee.ExitCode() != exitcode.Interrupted) {
			s.t.Errorf("%s: %v\nstderr: %s", label, err, stderr.String())
		}
		s.record(label+" stdout", stdout.String())
		s.record(label+" stderr", stderr.String())
	}()
	a, ok := <-addr
	if !ok {
		s.t.Errorf("%s: no address announced", label)
		return
	}
	client := &http.Client{Timeout: 2 * time.Minute}
	for _, p := range paths {
		resp, err := client.Get("http://" + a + p)
		if err != nil {
			s.t.Errorf("%s %s: %v", label, p, err)
			continue
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || len(b) == 0 {
			s.t.Errorf("%s %s: %d, %d bytes, %v", label, p, resp.StatusCode, len(b), err)
		}
		s.record(label+" "+p, string(b))
	}
}
