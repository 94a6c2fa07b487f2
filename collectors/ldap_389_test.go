package collectors

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/simtest"
)

// A real 389 Directory Server (389-ds-base, Netscape DS's descendant) for
// the collector's TLS checks. Without systemd dscreate works only in
// container mode, where every instance shares /data/run: one instance per
// machine, so the test holds simtest.Lock389 while its instance lives.
const (
	ds389Slapd    = "/usr/sbin/ns-slapd"
	ds389Prefix   = "msgtls"          // this test's instance names: msgtls<pid>
	ds389CertNick = "Server-Cert"     // nsSSLPersonalitySSL
	ds389CANick   = "msguard test CA" // the CA in the instance's NSS database
	ds389P12Pass  = "msguard-test"
	ds389Users    = 5
)

// ds389Tools are the programs the test runs, with the Debian package of each.
var ds389Tools = []struct{ name, pkg string }{
	{"ns-slapd", "389-ds-base"}, {"dscreate", "389-ds-base"},
	{"certutil", "libnss3-tools"}, {"pk12util", "libnss3-tools"}, {"openssl", "openssl"},
}

// ds389Server is a 389 instance run by a test in the foreground.
type ds389Server struct {
	name     string
	confDir  string // /etc/dirsrv/slapd-NAME, with the NSS database
	port     int
	tlsPort  int
	tlsOn    bool // nsslapd-security on: the secure port listens
	cmd      *exec.Cmd
	exited   chan struct{}
	outFile  string // ns-slapd's stdout and stderr
	userDNs  []string
	toolPath map[string]string
}

// ds389Pids returns the pids of running 389 servers and their command lines.
func ds389Pids() map[int]string {
	found := map[int]string{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid)); exe != ds389Slapd {
			continue
		}
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		found[pid] = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
	}
	return found
}

// new389 creates an instance with dscreate (container mode, TLS off),
// restricted to loopback, with inetLocalMailRecipient in its schema and a
// few mail recipients under o=siroe.com, and starts it. The instance is
// torn down completely when t ends, whether it passed or not.
func new389(t *testing.T) *ds389Server {
	t.Helper()
	d := &ds389Server{name: fmt.Sprintf("%s%d", ds389Prefix, os.Getpid()), toolPath: map[string]string{}}
	for _, tool := range ds389Tools {
		p, err := exec.LookPath(tool.name)
		if err != nil {
			p = filepath.Join("/usr/sbin", tool.name)
			if _, err := os.Stat(p); err != nil {
				t.Fatalf("%s not installed: make deps (apt-get install %s)", tool.name, tool.pkg)
			}
		}
		d.toolPath[tool.name] = p
	}
	if _, err := os.Stat(ds389Slapd); err != nil {
		t.Fatalf("%s not installed: make deps (apt-get install 389-ds-base): %v", ds389Slapd, err)
	}
	// Under the lock no other test runs 389: a live one is someone's who
	// does not take it.
	for pid, cmd := range ds389Pids() {
		t.Fatalf("a 389 server runs already (pid %d: %s) while this test holds %s: one 389 instance per machine",
			pid, cmd, simtest.Lock389Path)
	}
	if err := directory.DS389ContainerMode(); err != nil {
		t.Fatal(err)
	}
	// What a killed run of this test left behind.
	stale, _ := filepath.Glob(directory.DS389ConfigDir(ds389Prefix + "*"))
	for _, dir := range stale {
		name := strings.TrimPrefix(filepath.Base(dir), "slapd-")
		t.Logf("removing the stale 389 instance %s", name)
		for _, p := range directory.DS389Dirs(name) {
			if err := os.RemoveAll(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	d.confDir = directory.DS389ConfigDir(d.name)
	d.port, d.tlsPort = freePort(t), freePort(t)
	d.outFile = filepath.Join(t.TempDir(), "ns-slapd.out")
	t.Cleanup(func() { d.teardown(t) })

	inf := fmt.Sprintf(`[general]
full_machine_name = localhost
start = False
[slapd]
instance_name = %s
port = %d
secure_port = %d
root_dn = %s
root_password = %s
self_sign_cert = False
[backend-userroot]
suffix = %s
create_suffix_entry = True
`, d.name, d.port, d.tlsPort, DefaultBindDN, testDMPassword, DefaultUserSuffix)
	infFile := filepath.Join(t.TempDir(), "ds.inf")
	if err := os.WriteFile(infFile, []byte(inf), 0o600); err != nil {
		t.Fatal(err)
	}
	d.run(t, "dscreate", "from-file", infFile)

	// Loopback only; the ports are the test's.
	dse := filepath.Join(d.confDir, "dse.ldif")
	b, err := os.ReadFile(dse)
	if err != nil {
		t.Fatal(err)
	}
	portLine := fmt.Sprintf("\nnsslapd-port: %d\n", d.port)
	if !bytes.Contains(b, []byte(portLine)) {
		t.Fatalf("%s: no %q", dse, strings.TrimSpace(portLine))
	}
	b = bytes.Replace(b, []byte(portLine), []byte(portLine+"nsslapd-listenhost: 127.0.0.1\nnsslapd-securelistenhost: 127.0.0.1\n"), 1)
	if err := os.WriteFile(dse, b, 0o600); err != nil {
		t.Fatal(err)
	}
	schema := filepath.Join(d.confDir, "schema", "60inetlocalmailrecipient.ldif")
	if err := os.WriteFile(schema, []byte(directory.DS389MailRecipientSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	d.start(t)
	d.seed(t)
	return d
}

// run runs one of ds389Tools and fails the test with its output.
func (d *ds389Server) run(t *testing.T, tool string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, d.toolPath[tool], args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", tool, strings.Join(args, " "), err, out)
	}
}

// start runs ns-slapd in the foreground (-d 0) and waits until it accepts
// on its port (and on the secure port when TLS is on).
func (d *ds389Server) start(t *testing.T) {
	t.Helper()
	if err := directory.DS389ClearContainerRun(); err != nil {
		t.Fatal(err)
	}
	out, err := os.OpenFile(d.outFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	d.cmd = exec.Command(ds389Slapd, "-D", d.confDir, "-i", directory.DS389PidFile(d.name), "-d", "0")
	d.cmd.Stdout, d.cmd.Stderr = out, out
	if err := d.cmd.Start(); err != nil {
		d.cmd = nil
		t.Fatalf("start ns-slapd: %v", err)
	}
	exited := make(chan struct{})
	d.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(d.cmd)
	ports := []int{d.port}
	if d.tlsOn {
		ports = append(ports, d.tlsPort)
	}
	for range 2400 { // 389 starts in a second or two; give a loaded machine two minutes
		select {
		case <-exited:
			d.cmd = nil
			t.Fatalf("ns-slapd exited at start:\n%s", d.logs())
		default:
		}
		up := 0
		for _, p := range ports {
			if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
				c.Close()
				up++
			}
		}
		if up == len(ports) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("ns-slapd does not listen on %v:\n%s", ports, d.logs())
}

// logs is the tail of ns-slapd's output and error log.
func (d *ds389Server) logs() string {
	var b strings.Builder
	for _, f := range []string{d.outFile, filepath.Join("/var/log/dirsrv", "slapd-"+d.name, "errors")} {
		data, _ := os.ReadFile(f)
		if len(data) > 4000 {
			data = data[len(data)-4000:]
		}
		fmt.Fprintf(&b, "--- %s\n%s\n", f, data)
	}
	return b.String()
}

// stop terminates ns-slapd and waits for it to exit.
func (d *ds389Server) stop() error {
	if d.cmd == nil {
		return nil
	}
	defer func() { d.cmd = nil }()
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return nil
	case <-time.After(2 * time.Minute):
	}
	_ = d.cmd.Process.Kill()
	<-d.exited
	return fmt.Errorf("ns-slapd %s did not stop on SIGTERM: killed", d.name)
}

// teardown stops the instance, removes everything dscreate and ns-slapd
// made for it and the pid file and socket in /data/run, and checks that
// nothing is left.
func (d *ds389Server) teardown(t *testing.T) {
	if err := d.stop(); err != nil {
		t.Error(err)
	}
	for pid, cmd := range ds389Pids() {
		if strings.Contains(cmd, d.confDir) {
			t.Errorf("389 server of %s still runs (pid %d): killing it", d.name, pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
			for range 200 {
				if _, ok := ds389Pids()[pid]; !ok {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
	}
	for _, p := range directory.DS389Dirs(d.name) {
		if err := os.RemoveAll(p); err != nil {
			t.Errorf("remove %s: %v", p, err)
		}
	}
	if err := directory.DS389ClearContainerRun(); err != nil {
		t.Error(err)
	}
	left := append(directory.DS389Dirs(d.name), "/data/run/slapd-localhost.pid", "/data/run/slapd-localhost.socket")
	for _, p := range left {
		if _, err := os.Lstat(p); err == nil {
			t.Errorf("%s left after teardown", p)
		}
	}
}

// connect binds as the directory manager over plain LDAP.
func (d *ds389Server) connect(t *testing.T) *ldap.Conn {
	t.Helper()
	l, err := ldap.DialURL(fmt.Sprintf("ldap://127.0.0.1:%d", d.port), ldap.DialWithDialer(&net.Dialer{Timeout: 30 * time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	l.SetTimeout(30 * time.Second)
	if err := l.Bind(DefaultBindDN, testDMPassword); err != nil {
		l.Close()
		t.Fatalf("bind to 389: %v", err)
	}
	return l
}

// seed adds ds389Users mail recipients and a person who is not one.
func (d *ds389Server) seed(t *testing.T) {
	t.Helper()
	l := d.connect(t)
	defer l.Close()
	add := func(dn string, attrs map[string][]string) {
		req := ldap.NewAddRequest(dn, nil)
		keys := make([]string, 0, len(attrs))
		for k := range attrs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			req.Attribute(k, attrs[k])
		}
		if err := l.Add(req); err != nil {
			t.Fatalf("add %s: %v", dn, err)
		}
	}
	add("ou=People,o=siroe.com", map[string][]string{"objectClass": {"top", "organizationalUnit"}, "ou": {"People"}})
	add("cn=not a recipient,o=siroe.com", map[string][]string{"objectClass": {"top", "person"}, "cn": {"not a recipient"}, "sn": {"x"}})
	for i := range ds389Users {
		dn := fmt.Sprintf("uid=User%05d,ou=People,o=siroe.com", i)
		add(dn, map[string][]string{
			"objectClass": {"top", "person", "organizationalPerson", "inetOrgPerson", "inetLocalMailRecipient"},
			"uid":         {fmt.Sprintf("User%05d", i)}, "cn": {fmt.Sprintf("User %d", i)}, "sn": {strconv.Itoa(i)},
			"mail": {fmt.Sprintf("user%05d@siroe.com", i)}, "mailHost": {"mail.siroe.com"},
		})
		d.userDNs = append(d.userDNs, dn)
	}
}

// serveCert makes the instance serve tf's certificate on its secure port
// and for StartTLS: TLS on in cn=config, then, stopped, a new NSS
// database with the CA (none for a self-signed certificate) and the
// server's certificate and key as ds389CertNick, and a start.
func (d *ds389Server) serveCert(t *testing.T, tf *tlsFiles) {
	t.Helper()
	if !d.tlsOn {
		l := d.connect(t)
		for _, m := range []struct{ dn, attr, val string }{
			{"cn=config", "nsslapd-security", "on"},
			{"cn=RSA,cn=encryption,cn=config", "nsSSLPersonalitySSL", ds389CertNick},
			{"cn=RSA,cn=encryption,cn=config", "nsSSLToken", "internal (software)"},
			{"cn=RSA,cn=encryption,cn=config", "nsSSLActivation", "on"},
		} {
			req := ldap.NewModifyRequest(m.dn, nil)
			req.Replace(m.attr, []string{m.val})
			if err := l.Modify(req); err != nil {
				l.Close()
				t.Fatalf("set %s %s: %v", m.dn, m.attr, err)
			}
		}
		l.Close()
	}
	if err := d.stop(); err != nil {
		t.Fatal(err)
	}
	db := "sql:" + d.confDir
	pwFile := filepath.Join(d.confDir, "pwdfile.txt") // the NSS database's password, from dscreate
	for _, f := range []string{"cert9.db", "key4.db"} {
		if err := os.Remove(filepath.Join(d.confDir, f)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	d.run(t, "certutil", "-N", "-d", db, "-f", pwFile)
	if tf.caCert != nil {
		d.run(t, "certutil", "-A", "-d", db, "-f", pwFile, "-n", ds389CANick, "-t", "CT,,", "-a", "-i", tf.ca)
	}
	p12 := filepath.Join(t.TempDir(), "server.p12")
	d.run(t, "openssl", "pkcs12", "-export", "-in", tf.cert, "-inkey", tf.key, "-name", ds389CertNick,
		"-out", p12, "-passout", "pass:"+ds389P12Pass)
	d.run(t, "pk12util", "-i", p12, "-d", db, "-k", pwFile, "-W", ds389P12Pass)
	u, err := user.Lookup("dirsrv")
	if err != nil {
		t.Fatalf("389 user: %v (make deps: 389-ds-base)", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	for _, f := range []string{"cert9.db", "key4.db"} {
		if err := os.Chown(filepath.Join(d.confDir, f), uid, 0); err != nil {
			t.Fatal(err)
		}
	}
	d.tlsOn = true
	d.start(t)
}

// counters are 389's per-server operation counts (cn=snmp,cn=monitor).
type ds389Counters struct{ binds, searches int64 }

// counters reads them over a connection of its own, whose bind and search
// they include.
func (d *ds389Server) counters(t *testing.T) ds389Counters {
	t.Helper()
	l := d.connect(t)
	defer l.Close()
	res, err := l.Search(baseSearch("cn=snmp,cn=monitor", "anonymousbinds", "unauthbinds", "simpleauthbinds", "strongauthbinds", "searchops"))
	if err != nil || len(res.Entries) != 1 {
		t.Fatalf("read cn=snmp,cn=monitor: %v", err)
	}
	e := res.Entries[0]
	num := func(attr string) int64 {
		n, err := strconv.ParseInt(e.GetAttributeValue(attr), 10, 64)
		if err != nil {
			t.Fatalf("cn=snmp,cn=monitor %s = %q", attr, e.GetAttributeValue(attr))
		}
		return n
	}
	return ds389Counters{
		binds:    num("anonymousbinds") + num("unauthbinds") + num("simpleauthbinds") + num("strongauthbinds"),
		searches: num("searchops"),
	}
}

// TestCollectLDAP389TLS runs the collector's TLS matrix against a real 389
// Directory Server: a valid certificate passes via ldaps and StartTLS;
// self-signed, expired, wrong-host and unknown-CA certificates are refused
// with a message naming why, and StartTLS against the server before its TLS
// is on is refused. A refusal is never followed by a plaintext bind or
// read: the server's own counters say that nothing was asked of it.
func TestCollectLDAP389TLS(t *testing.T) {
	simtest.Lock389(t) // first: its release runs after the instance's teardown
	ds := new389(t)

	valid := makeTLSWith(t, tlsOptions{hosts: []string{"127.0.0.1"}, org: "valid"})
	expired := makeTLSWith(t, tlsOptions{hosts: []string{"127.0.0.1"}, org: "expired", issuer: valid, expired: true})
	selfSigned := makeTLSWith(t, tlsOptions{hosts: []string{"127.0.0.1"}, org: "self-signed", selfSigned: true})
	otherCA := makeTLS(t, false, "127.0.0.1") // a CA that signed nothing 389 serves

	lower := make([]string, len(ds.userDNs))
	for i, dn := range ds.userDNs {
		lower[i] = strings.ToLower(dn)
	}
	sort.Strings(lower)
	wantDigest := sha(strings.Join(lower, "\n") + "\n")

	const (
		unknownCA = "tls: failed to verify certificate: x509: certificate signed by unknown authority"
		isExpired = "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
		wrongHost = "tls: failed to verify certificate: x509: certificate is not valid for any names, but wanted to match localhost"
	)
	type tlsCase struct {
		name     string
		ldaps    bool   // ldaps:// to the secure port; else ldap:// to the port
		startTLS bool   // --ldap-starttls
		host     string // the URL's host; 127.0.0.1 when empty
		ca       string // --ldap-ca
		insecure bool   // --insecure-skip-verify
		wantOp   string // what the error names, when not the TLS setup itself
		wantWhy  string // in LDAP.Error; empty when the collector binds
	}
	phases := []struct {
		server string
		cert   *tlsFiles // served from here on; nil: TLS off
		cases  []tlsCase
	}{
		{server: "tls off", cases: []tlsCase{
			{name: "plain ldap", ca: valid.ca},
			{name: "starttls", startTLS: true, ca: valid.ca, wantWhy: `the server does not offer StartTLS (LDAP Result Code 2 "Protocol Error": unsupported extended operation)`},
			{name: "ldaps", ldaps: true, ca: valid.ca, wantOp: "connect", wantWhy: "connection refused"},
		}},
		{server: "valid", cert: valid, cases: []tlsCase{
			{name: "ldaps", ldaps: true, ca: valid.ca},
			{name: "starttls", startTLS: true, ca: valid.ca},
			{name: "ldaps unknown ca", ldaps: true, wantWhy: unknownCA},
			{name: "starttls unknown ca", startTLS: true, wantWhy: unknownCA},
			{name: "ldaps other ca", ldaps: true, ca: otherCA.ca, wantWhy: unknownCA},
			{name: "starttls other ca", startTLS: true, ca: otherCA.ca, wantWhy: unknownCA},
			{name: "ldaps wrong host", ldaps: true, host: "localhost", ca: valid.ca, wantWhy: wrongHost},
			{name: "starttls wrong host", startTLS: true, host: "localhost", ca: valid.ca, wantWhy: wrongHost},
		}},
		{server: "expired", cert: expired, cases: []tlsCase{
			{name: "ldaps", ldaps: true, ca: valid.ca, wantWhy: isExpired},
			{name: "starttls", startTLS: true, ca: valid.ca, wantWhy: isExpired},
			// The server serves: it is the expiry that is refused.
			{name: "ldaps insecure skip verify", ldaps: true, insecure: true},
		}},
		{server: "self-signed", cert: selfSigned, cases: []tlsCase{
			{name: "ldaps", ldaps: true, wantWhy: unknownCA},
			{name: "starttls", startTLS: true, wantWhy: unknownCA},
			{name: "ldaps test ca", ldaps: true, ca: valid.ca, wantWhy: unknownCA},
			{name: "starttls test ca", startTLS: true, ca: valid.ca, wantWhy: unknownCA},
			// Trusted explicitly, the same server passes.
			{name: "ldaps trusting the certificate", ldaps: true, ca: selfSigned.cert},
		}},
	}
	for _, ph := range phases {
		t.Run(ph.server, func(t *testing.T) {
			if ph.cert != nil {
				ds.serveCert(t, ph.cert)
			}
			for _, tc := range ph.cases {
				t.Run(tc.name, func(t *testing.T) {
					host := cmp.Or(tc.host, "127.0.0.1")
					scheme, port, wantTLS, op := "ldap", ds.port, "none", "bind"
					switch {
					case tc.ldaps:
						scheme, port, wantTLS, op = "ldaps", ds.tlsPort, "ldaps", "tls handshake with"
					case tc.startTLS:
						wantTLS, op = "starttls", "starttls with"
					}
					if tc.wantOp != "" {
						op = tc.wantOp
					}
					hostPort := net.JoinHostPort(host, strconv.Itoa(port))
					opts := Options{LDAPURL: fmt.Sprintf("%s://%s/o=siroe.com", scheme, hostPort), LDAPStartTLS: tc.startTLS,
						LDAPCA: tc.ca, InsecureSkipVerify: tc.insecure, BindPassword: password(testDMPassword)}

					before := ds.counters(t)
					f, partial, err := runLDAP(t, opts, nil)
					after := ds.counters(t)
					// The second read's own bind and search are in after.
					binds, searches := after.binds-before.binds-1, after.searches-before.searches-1
					if err != nil {
						t.Fatalf("collector failed: %v", err)
					}
					if f.TLS != wantTLS {
						t.Errorf("tls = %q, want %q", f.TLS, wantTLS)
					}
					if tc.wantWhy == "" {
						if !f.Bound || !f.Reachable || f.Error != "" || len(partial) > 0 {
							t.Fatalf("bound %v reachable %v error %q partial %v, want bound", f.Bound, f.Reachable, f.Error, partial)
						}
						if f.MailRecipients != ds389Users || f.RecipientsDigest != wantDigest {
							t.Errorf("recipients %d digest %s, want %d %s", f.MailRecipients, f.RecipientsDigest, ds389Users, wantDigest)
						}
						if f.VendorName != "389 Project" || !slices.Contains(f.NamingContexts, "o=siroe.com") {
							t.Errorf("vendor %q naming contexts %v, want 389's with o=siroe.com", f.VendorName, f.NamingContexts)
						}
						if binds != 1 || searches < 1 {
							t.Errorf("389 counted %d binds and %d searches by the collector, want 1 and some", binds, searches)
						}
						return
					}
					want := fmt.Sprintf("%s %s: ", op, hostPort)
					if !strings.HasPrefix(f.Error, want) || !strings.Contains(f.Error, tc.wantWhy) {
						t.Errorf("error = %q, want %q...%q", f.Error, want, tc.wantWhy)
					}
					if !slices.Equal(partial, []string{f.Error}) {
						t.Errorf("partial = %v, want just the error", partial)
					}
					// Never a plaintext fallback: nothing bound, nothing read.
					if f.Bound || f.Reachable || f.MailRecipients != 0 || f.RecipientsDigest != "" ||
						len(f.NamingContexts) != 0 || f.VendorName != "" {
						t.Errorf("refused, yet bound %v reachable %v recipients %d naming contexts %v vendor %q",
							f.Bound, f.Reachable, f.MailRecipients, f.NamingContexts, f.VendorName)
					}
					if binds != 0 || searches != 0 {
						t.Errorf("refused, yet 389 counted %d binds and %d searches by the collector", binds, searches)
					}
				})
			}
		})
	}
}
