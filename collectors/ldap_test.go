package collectors

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

const (
	testDMPassword = "secret-dm"
	testUsers      = 2500 // three pages of 1000
	testPABEntries = 3
)

// slapdServer is a real OpenLDAP slapd run by a test.
type slapdServer struct {
	dir      string
	conf     string
	port     int
	tlsPort  int // 0 without TLS
	cmd      *exec.Cmd
	waitExit chan struct{}
	userDNs  []string
	tlsFiles *tlsFiles
}

// tlsFiles are the PEM files a test server serves, and the CA that
// signed its certificate (nil for a self-signed one) for makeTLSWith's
// issuer.
type tlsFiles struct {
	ca, cert, key string
	caCert        *x509.Certificate
	caKey         *ecdsa.PrivateKey
}

// freePort returns a TCP port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// sbin finds a program installed with the slapd package.
func sbin(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	p := filepath.Join("/usr/sbin", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s not installed (apt-get install slapd ldap-utils): %v", name, err)
	}
	return p
}

// newSlapd writes a configuration, loads the test directory with slapadd
// and starts slapd.
func newSlapd(t *testing.T, tf *tlsFiles) *slapdServer {
	t.Helper()
	s := &slapdServer{dir: t.TempDir(), tlsFiles: tf}
	for _, db := range []string{"dm", "siroe", "pab"} {
		if err := os.MkdirAll(filepath.Join(s.dir, "db", db), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	s.writeConf(t, false)
	var users strings.Builder
	users.WriteString("dn: o=siroe.com\nobjectClass: organization\no: siroe.com\n\n")
	users.WriteString("dn: ou=People,o=siroe.com\nobjectClass: organizationalUnit\nou: People\n\n")
	users.WriteString("dn: cn=not a recipient,o=siroe.com\nobjectClass: person\ncn: not a recipient\nsn: x\n\n")
	for i := range testUsers {
		dn := fmt.Sprintf("uid=User%05d,ou=People,o=siroe.com", i)
		s.userDNs = append(s.userDNs, dn)
		fmt.Fprintf(&users, "dn: %s\nobjectClass: inetOrgPerson\nobjectClass: inetLocalMailRecipient\n"+
			"uid: User%05d\ncn: User %d\nsn: %d\nmail: user%05d@siroe.com\nmailHost: mail.siroe.com\n\n", dn, i, i, i, i)
	}
	var pab strings.Builder
	pab.WriteString("dn: o=pab\nobjectClass: organization\no: pab\n\n")
	pab.WriteString("dn: ou=user00001,o=pab\nobjectClass: organizationalUnit\nou: user00001\n\n")
	for i := range testPABEntries - 1 {
		fmt.Fprintf(&pab, "dn: cn=friend%d,ou=user00001,o=pab\nobjectClass: person\ncn: friend%d\nsn: f\n\n", i, i)
	}
	for suffix, ldif := range map[string]string{"o=siroe.com": users.String(), "o=pab": pab.String()} {
		f := filepath.Join(s.dir, suffix+".ldif")
		if err := os.WriteFile(f, []byte(ldif), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command(sbin(t, "slapadd"), "-q", "-f", s.conf, "-b", suffix, "-l", f).CombinedOutput(); err != nil {
			t.Fatalf("slapadd %s: %v\n%s", suffix, err, out)
		}
	}
	s.port = freePort(t)
	if tf != nil {
		s.tlsPort = freePort(t)
	}
	s.start(t)
	t.Cleanup(s.stop)
	return s
}

// writeConf writes slapd.conf, with the inetMailUser schema when withSchema.
func (s *slapdServer) writeConf(t *testing.T, withSchema bool) {
	t.Helper()
	tmpl, err := os.ReadFile(filepath.Join("testdata", "ldap", "slapd.conf.tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	include, tlsConf := "", ""
	if withSchema {
		abs, err := filepath.Abs(filepath.Join("testdata", "ldap", "ims-schema.schema"))
		if err != nil {
			t.Fatal(err)
		}
		include = "include " + abs
	}
	if s.tlsFiles != nil {
		tlsConf = fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s",
			s.tlsFiles.ca, s.tlsFiles.cert, s.tlsFiles.key)
	}
	conf := strings.NewReplacer("@DIR@", s.dir, "@INCLUDE@", include, "@TLS@", tlsConf).Replace(string(tmpl))
	s.conf = filepath.Join(s.dir, "slapd.conf")
	if err := os.WriteFile(s.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
}

// start runs slapd in the foreground (-d 0) and waits until it accepts.
func (s *slapdServer) start(t *testing.T) {
	t.Helper()
	urls := fmt.Sprintf("ldap://127.0.0.1:%d/", s.port)
	if s.tlsPort != 0 {
		urls += fmt.Sprintf(" ldaps://127.0.0.1:%d/", s.tlsPort)
	}
	s.cmd = exec.Command(sbin(t, "slapd"), "-d", "0", "-f", s.conf, "-h", urls)
	logf, err := os.Create(filepath.Join(s.dir, "slapd.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start slapd: %v", err)
	}
	exited := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(exited) }()
	for range 500 {
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(s.dir, "slapd.log"))
			t.Fatalf("slapd exited at start:\n%s", log)
		default:
		}
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", s.port))
		if err == nil {
			c.Close()
			s.waitExit = exited
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("slapd did not start listening")
}

// stop terminates slapd and waits for it to exit.
func (s *slapdServer) stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	<-s.waitExit
	s.cmd = nil
}

// restart stops slapd, rewrites its configuration and starts it again.
func (s *slapdServer) restart(t *testing.T, withSchema bool) {
	t.Helper()
	s.stop()
	s.writeConf(t, withSchema)
	s.start(t)
}

// makeTLS writes a CA and a server certificate for hosts (IPs or names),
// or a self-signed server certificate when selfSigned.
func makeTLS(t *testing.T, selfSigned bool, hosts ...string) *tlsFiles {
	t.Helper()
	return makeTLSWith(t, tlsOptions{selfSigned: selfSigned, hosts: hosts})
}

// tlsOptions shape the certificates makeTLSWith writes.
type tlsOptions struct {
	hosts      []string  // the server certificate's IP and DNS SANs; hosts[0] is its CN
	selfSigned bool      // the server certificate signs itself; no CA
	expired    bool      // the server certificate's validity ended yesterday
	issuer     *tlsFiles // sign with issuer's CA instead of a new one (ca is then issuer's too)
	org        string    // the server certificate's subject O, to tell certificates apart
}

// makeTLSWith writes a CA (or reuses o.issuer's) and a server certificate
// as o says. Serial numbers are random, so that certificates of one CA
// never share issuer and serial (NSS, as 389 uses it, keys them so).
func makeTLSWith(t *testing.T, o tlsOptions) *tlsFiles {
	t.Helper()
	if len(o.hosts) == 0 {
		t.Fatal("makeTLSWith: no hosts")
	}
	dir := t.TempDir()
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	serial := func() *big.Int {
		n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
		if err != nil {
			t.Fatal(err)
		}
		return n.Add(n, big.NewInt(1))
	}
	writePEM := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	now := time.Now()
	tf := &tlsFiles{}
	if o.issuer != nil && o.issuer.caCert != nil {
		tf.caCert, tf.caKey = o.issuer.caCert, o.issuer.caKey
	} else {
		tf.caKey = newKey()
		caTmpl := &x509.Certificate{
			SerialNumber: serial(), Subject: pkix.Name{CommonName: "msguard test CA"},
			NotBefore: now.Add(-72 * time.Hour), NotAfter: now.Add(24 * time.Hour), // older than an expired server certificate
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		}
		caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &tf.caKey.PublicKey, tf.caKey)
		if err != nil {
			t.Fatal(err)
		}
		if tf.caCert, err = x509.ParseCertificate(caDER); err != nil {
			t.Fatal(err)
		}
	}
	notBefore, notAfter := now.Add(-time.Hour), now.Add(24*time.Hour)
	if o.expired {
		notBefore, notAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	}
	srvKey := newKey()
	srvTmpl := &x509.Certificate{
		SerialNumber: serial(), Subject: pkix.Name{CommonName: o.hosts[0]},
		NotBefore: notBefore, NotAfter: notAfter,
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if o.org != "" {
		srvTmpl.Subject.Organization = []string{o.org}
	}
	for _, h := range o.hosts {
		if ip := net.ParseIP(h); ip != nil {
			srvTmpl.IPAddresses = append(srvTmpl.IPAddresses, ip)
		} else {
			srvTmpl.DNSNames = append(srvTmpl.DNSNames, h)
		}
	}
	parent, signer := tf.caCert, tf.caKey
	if o.selfSigned {
		parent, signer = srvTmpl, srvKey
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, parent, &srvKey.PublicKey, signer)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	tf.ca = writePEM("ca.pem", "CERTIFICATE", tf.caCert.Raw)
	tf.cert = writePEM("server.pem", "CERTIFICATE", srvDER)
	tf.key = writePEM("server.key", "PRIVATE KEY", keyDER)
	if o.selfSigned {
		tf.caCert, tf.caKey = nil, nil
	}
	return tf
}

// runLDAP runs the collector with a bounded context.
func runLDAP(t *testing.T, opts Options, inf map[string]map[string]string) (*facts.LDAP, []string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s := &facts.Snapshot{}
	partial, err := collectLDAP(ctx, &Target{Options: opts, InstallInf: inf, host: LiveHost{}}, s)
	return s.LDAP, partial, err
}

func password(pw string) func() (string, error) {
	return func() (string, error) { return pw, nil }
}

func TestCollectLDAPOpenLDAP(t *testing.T) {
	tf := makeTLS(t, false, "127.0.0.1")
	srv := newSlapd(t, tf)
	plain := fmt.Sprintf("ldap://127.0.0.1:%d/o=siroe.com", srv.port)
	secure := fmt.Sprintf("ldaps://127.0.0.1:%d/o=siroe.com", srv.tlsPort)

	lower := make([]string, len(srv.userDNs))
	for i, dn := range srv.userDNs {
		lower[i] = strings.ToLower(dn)
	}
	sort.Strings(lower)
	wantDigest := sha(strings.Join(lower, "\n") + "\n")

	tests := []struct {
		name      string
		opts      Options
		inf       map[string]map[string]string
		wantBound bool
		wantReach bool
		wantTLS   string
		wantErr   string // in LDAP.Error
		wantFail  error  // returned error
	}{
		{name: "url from install.inf", inf: map[string]map[string]string{"General": {"UserDirectoryLdapURL": plain}},
			opts: Options{BindPassword: password(testDMPassword)}, wantBound: true, wantReach: true, wantTLS: "none"},
		{name: "ldaps with ca", opts: Options{LDAPURL: secure, LDAPCA: tf.ca, BindPassword: password(testDMPassword)},
			wantBound: true, wantReach: true, wantTLS: "ldaps"},
		{name: "starttls with ca", opts: Options{LDAPURL: plain, LDAPStartTLS: true, LDAPCA: tf.ca, BindPassword: password(testDMPassword)},
			wantBound: true, wantReach: true, wantTLS: "starttls"},
		{name: "wrong password", opts: Options{LDAPURL: plain, BindPassword: password("nope")},
			wantReach: true, wantTLS: "none", wantErr: "invalid credentials for cn=Directory Manager"},
		{name: "no password", opts: Options{LDAPURL: plain},
			wantReach: true, wantTLS: "none", wantErr: ErrNoBindPassword.Error(), wantFail: ErrNoBindPassword},
		{name: "ldaps without ca", opts: Options{LDAPURL: secure, BindPassword: password(testDMPassword)},
			wantTLS: "ldaps", wantErr: "certificate signed by unknown authority"},
		{name: "ldaps wrong host", opts: Options{LDAPURL: fmt.Sprintf("ldaps://localhost:%d/o=siroe.com", srv.tlsPort), LDAPCA: tf.ca, BindPassword: password(testDMPassword)},
			wantTLS: "ldaps", wantErr: "wanted to match localhost"},
		{name: "starttls wrong host", opts: Options{LDAPURL: fmt.Sprintf("ldap://localhost:%d/o=siroe.com", srv.port), LDAPStartTLS: true, LDAPCA: tf.ca, BindPassword: password(testDMPassword)},
			wantTLS: "starttls", wantErr: "wanted to match localhost"},
		{name: "insecure skip verify", opts: Options{LDAPURL: secure, InsecureSkipVerify: true, BindPassword: password(testDMPassword)},
			wantBound: true, wantReach: true, wantTLS: "ldaps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, partial, err := runLDAP(t, tt.opts, tt.inf)
			if !errors.Is(err, tt.wantFail) {
				t.Fatalf("err = %v, want %v", err, tt.wantFail)
			}
			if f == nil {
				t.Fatal("no ldap facts")
			}
			if f.Bound != tt.wantBound || f.Reachable != tt.wantReach || f.TLS != tt.wantTLS {
				t.Errorf("bound %v reachable %v tls %q, want %v %v %q (error %q)", f.Bound, f.Reachable, f.TLS, tt.wantBound, tt.wantReach, tt.wantTLS, f.Error)
			}
			if !strings.Contains(f.Error, tt.wantErr) || (tt.wantErr == "" && f.Error != "") {
				t.Errorf("error = %q, want %q", f.Error, tt.wantErr)
			}
			if !tt.wantBound {
				return
			}
			if len(partial) > 0 {
				t.Errorf("partial = %v", partial)
			}
			if f.MailRecipients != testUsers || f.RecipientsDigest != wantDigest {
				t.Errorf("recipients = %d digest %s, want %d %s", f.MailRecipients, f.RecipientsDigest, testUsers, wantDigest)
			}
			if !f.PABExists || f.PABEntries != testPABEntries {
				t.Errorf("pab exists %v entries %d, want true %d", f.PABExists, f.PABEntries, testPABEntries)
			}
			if !slices.Contains(f.NamingContexts, "o=siroe.com") || !slices.Contains(f.NamingContexts, "o=pab") {
				t.Errorf("naming contexts = %v", f.NamingContexts)
			}
			if !strings.Contains(f.MonitorVersion, "OpenLDAP") {
				t.Errorf("monitor version = %q, want OpenLDAP's", f.MonitorVersion)
			}
			if f.SchemaInetMailUser {
				t.Error("inetMailUser reported before ims_dssetup")
			}
			if f.UserSuffix != "o=siroe.com" || f.BindDN != DefaultBindDN {
				t.Errorf("suffix %q bind dn %q", f.UserSuffix, f.BindDN)
			}
		})
	}
}

func TestCollectLDAPSchemaAfterRestart(t *testing.T) {
	srv := newSlapd(t, nil)
	opts := Options{LDAPURL: fmt.Sprintf("ldap://127.0.0.1:%d", srv.port), BindPassword: password(testDMPassword)}
	for _, withSchema := range []bool{false, true} {
		if withSchema {
			srv.restart(t, true)
		}
		f, partial, err := runLDAP(t, opts, nil)
		if err != nil || !f.Bound || len(partial) > 0 {
			t.Fatalf("schema %v: err %v bound %v partial %v error %q", withSchema, err, f.Bound, partial, f.Error)
		}
		if f.SchemaInetMailUser != withSchema {
			t.Errorf("after restart with schema %v: SchemaInetMailUser = %v", withSchema, f.SchemaInetMailUser)
		}
		if f.MailRecipients != testUsers || f.UserSuffix != DefaultUserSuffix {
			t.Errorf("recipients %d suffix %q", f.MailRecipients, f.UserSuffix)
		}
	}

	// StartTLS against a server without TLS is refused, never downgraded.
	opts.LDAPStartTLS = true
	f, _, err := runLDAP(t, opts, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Bound || f.MailRecipients != 0 || !strings.Contains(f.Error, "starttls with 127.0.0.1:"+strconv.Itoa(srv.port)) || !strings.Contains(f.Error, "the server does not offer StartTLS") {
		t.Errorf("starttls without server tls: bound %v recipients %d error %q", f.Bound, f.MailRecipients, f.Error)
	}
}

func TestCollectLDAPSelfSigned(t *testing.T) {
	tf := makeTLS(t, true, "127.0.0.1")
	srv := newSlapd(t, tf)
	url := fmt.Sprintf("ldaps://127.0.0.1:%d/o=siroe.com", srv.tlsPort)
	f, _, err := runLDAP(t, Options{LDAPURL: url, BindPassword: password(testDMPassword)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if f.Bound || f.Reachable || !strings.Contains(f.Error, "tls handshake") {
		t.Errorf("self-signed without ca: bound %v reachable %v error %q", f.Bound, f.Reachable, f.Error)
	}
	f, _, err = runLDAP(t, Options{LDAPURL: url, LDAPCA: tf.cert, BindPassword: password(testDMPassword)}, nil)
	if err != nil || !f.Bound {
		t.Errorf("self-signed trusted via --ldap-ca: err %v bound %v error %q", err, f.Bound, f.Error)
	}
}

// TestCollectLDAPExpiredCert: a server certificate that the trusted CA
// signed but whose validity has ended is refused, via ldaps and StartTLS,
// before any bind, and nothing is read in plaintext instead.
func TestCollectLDAPExpiredCert(t *testing.T) {
	valid := makeTLS(t, false, "127.0.0.1")
	expired := makeTLSWith(t, tlsOptions{hosts: []string{"127.0.0.1"}, issuer: valid, expired: true})
	srv := newSlapd(t, expired)
	plain := fmt.Sprintf("ldap://127.0.0.1:%d/o=siroe.com", srv.port)
	secure := fmt.Sprintf("ldaps://127.0.0.1:%d/o=siroe.com", srv.tlsPort)
	tests := []struct {
		name      string
		opts      Options
		wantBound bool
		wantErr   string
	}{
		{name: "ldaps", opts: Options{LDAPURL: secure, LDAPCA: expired.ca},
			wantErr: fmt.Sprintf("tls handshake with 127.0.0.1:%d: tls: failed to verify certificate: x509: certificate has expired or is not yet valid", srv.tlsPort)},
		{name: "starttls", opts: Options{LDAPURL: plain, LDAPStartTLS: true, LDAPCA: expired.ca},
			wantErr: fmt.Sprintf("starttls with 127.0.0.1:%d: ", srv.port)},
		// The same server is fine once verification is off: it is the
		// expiry that is refused, not a broken server.
		{name: "insecure skip verify", opts: Options{LDAPURL: secure, InsecureSkipVerify: true}, wantBound: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.BindPassword = password(testDMPassword)
			f, partial, err := runLDAP(t, tt.opts, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantBound {
				if !f.Bound || f.MailRecipients != testUsers || len(partial) > 0 {
					t.Errorf("bound %v recipients %d partial %v error %q", f.Bound, f.MailRecipients, partial, f.Error)
				}
				return
			}
			if f.Bound || f.Reachable || f.MailRecipients != 0 || len(f.NamingContexts) != 0 {
				t.Errorf("expired certificate: bound %v reachable %v recipients %d naming contexts %v: read without TLS?",
					f.Bound, f.Reachable, f.MailRecipients, f.NamingContexts)
			}
			if !strings.HasPrefix(f.Error, tt.wantErr) || !strings.Contains(f.Error, "certificate has expired or is not yet valid") {
				t.Errorf("error = %q, want %q... naming the expiry", f.Error, tt.wantErr)
			}
			if !slices.Equal(partial, []string{f.Error}) {
				t.Errorf("partial = %v, want the error", partial)
			}
		})
	}
}

func TestCollectLDAPUnreachable(t *testing.T) {
	hung, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := hung.Accept()
			if err != nil {
				return
			}
			held = append(held, c) // accept, never answer
		}
	}()
	refused := freePort(t)

	tests := []struct {
		name    string
		url     string
		wantErr string
	}{
		{"refused", fmt.Sprintf("ldap://127.0.0.1:%d/o=siroe.com", refused), fmt.Sprintf("connect 127.0.0.1:%d: connection refused", refused)},
		{"never answers", "ldap://" + hung.Addr().String(), "bind as cn=Directory Manager: timed out"},
		{"never answers tls", "ldaps://" + hung.Addr().String(), "tls handshake with " + hung.Addr().String() + ": timed out"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			s := &facts.Snapshot{}
			partial, err := collectLDAP(ctx, &Target{Options: Options{LDAPURL: tt.url, BindPassword: password("x")}, host: LiveHost{}}, s)
			if err != nil {
				t.Fatal(err)
			}
			f := s.LDAP
			if f.Reachable || f.Bound || f.Error != tt.wantErr || !slices.Equal(partial, []string{tt.wantErr}) {
				t.Errorf("reachable %v bound %v error %q partial %v, want error %q", f.Reachable, f.Bound, f.Error, partial, tt.wantErr)
			}
		})
	}
}

func TestResolveLDAPTarget(t *testing.T) {
	tests := []struct {
		name, url, infURL, bindDN string
		want                      string
		wantSuffix, wantDN        string
		wantErr                   bool
	}{
		{name: "install.inf", infURL: "ldap://mail.siroe.com:389/o=siroe.com", want: "ldap://mail.siroe.com:389/o=siroe.com", wantSuffix: "o=siroe.com", wantDN: DefaultBindDN},
		{name: "flag wins", url: "ldaps://ds.siroe.com/o=example", infURL: "ldap://x/", bindDN: "cn=admin", want: "ldaps://ds.siroe.com:636/o=example", wantSuffix: "o=example", wantDN: "cn=admin"},
		{name: "default suffix and port", url: "ldap://ds", want: "ldap://ds:389/o=siroe.com", wantSuffix: "o=siroe.com", wantDN: DefaultBindDN},
		{name: "escaped suffix", url: "ldap://ds:1389/o=siroe%20mail", want: "ldap://ds:1389/o=siroe mail", wantSuffix: "o=siroe mail", wantDN: DefaultBindDN},
		{name: "none", wantErr: true},
		{name: "bad scheme", url: "http://ds/", wantErr: true},
		{name: "no host", url: "ldap:///o=siroe.com", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := &Target{Options: Options{LDAPURL: tt.url, BindDN: tt.bindDN}}
			if tt.infURL != "" {
				tg.InstallInf = map[string]map[string]string{"General": {"UserDirectoryLdapURL": tt.infURL}}
			}
			lt, err := resolveLDAPTarget(tg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && (lt.String() != tt.want || lt.suffix != tt.wantSuffix || lt.bindDN != tt.wantDN) {
				t.Errorf("target = %s suffix %q dn %q, want %s %q %q", lt, lt.suffix, lt.bindDN, tt.want, tt.wantSuffix, tt.wantDN)
			}
		})
	}
}

func TestSchemaHasObjectClass(t *testing.T) {
	tests := []struct {
		def  string
		want bool
	}{
		{"( 1.2.3 NAME 'inetMailUser' SUP top AUXILIARY )", true},
		{"( 1.2.3 NAME 'INETMAILUSER' )", true},
		{"( 1.2.3 NAME ( 'mailUser' 'inetMailUser' ) )", true},
		{"( 1.2.3 NAME 'inetMailUserX' )", false},
		{"( 1.2.3 NAME 'inetLocalMailRecipient' DESC 'inetMailUser' )", false},
	}
	for _, tt := range tests {
		if got := schemaHasObjectClass([]string{tt.def}, "inetMailUser"); got != tt.want {
			t.Errorf("schemaHasObjectClass(%q) = %v, want %v", tt.def, got, tt.want)
		}
	}
}
