package rehearse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/vishvananda/netlink"

	"github.com/msguard/msguard/internal/ldapdial"
)

// Debian's OpenLDAP, which serves the scratch directory.
var (
	slapdBin    = "/usr/sbin/slapd"
	slapaddBin  = "/usr/sbin/slapadd"
	slaptestBin = "/usr/sbin/slaptest"
)

// scratchSchemaFiles are the schema files of Debian's OpenLDAP the
// scratch server loads before production's own definitions.
var scratchSchemaFiles = []string{"core", "cosine", "inetorgperson", "nis", "misc"}

// serveTimeout bounds the wait for the scratch server to answer.
const serveTimeout = time.Minute

// Serve stands the scratch directory up in the twin: production's
// addresses on the twin's loopback, a slapd configured in d.Dir with
// production's suffixes and the schema it lacks of production's,
// production's entries loaded (slapadd), started on production's address
// and port. It must run in the twin's network namespace (after Enter);
// the server lives in the twin's PID namespace and dies with it. Its
// errors are DirectoryErrors.
func (d *Directory) Serve(ctx context.Context) (*exec.Cmd, error) {
	for _, bin := range []string{slapdBin, slapaddBin, slaptestBin} {
		if _, err := os.Stat(bin); err != nil {
			return nil, &DirectoryError{What: "the scratch server", Err: fmt.Errorf("%s is missing: install Debian's slapd package (OpenLDAP)", bin)}
		}
	}
	if err := d.addressesOnLoopback(); err != nil {
		return nil, &DirectoryError{What: "production's address on the twin's loopback", Err: err}
	}
	for i := range d.Suffixes {
		if err := os.MkdirAll(d.dbDir(i), 0o700); err != nil {
			return nil, &DirectoryError{What: "the scratch server's databases", Err: err}
		}
	}
	// What the scratch server knows of itself decides what of
	// production's schema it must be given.
	known, err := d.probeSchema(ctx)
	if err != nil {
		return nil, &DirectoryError{What: "the scratch server's own schema", Err: err}
	}
	prod, err := os.ReadFile(d.Schema)
	if err != nil {
		return nil, &DirectoryError{What: "production's schema", Err: err}
	}
	missing, err := missingSchema(strings.Split(string(prod), "\n"), known)
	if err != nil {
		return nil, &DirectoryError{What: "production's schema", Err: err}
	}
	if err := d.configure(ctx, missing); err != nil {
		return nil, err
	}
	for _, s := range d.Suffixes {
		if err := d.load(ctx, s); err != nil {
			return nil, err
		}
		pausePoint("directory.load", filepath.Dir(d.Dir))
	}
	cmd, err := d.start(ctx)
	if err == nil {
		pausePoint("directory.served", filepath.Dir(d.Dir))
	}
	return cmd, err
}

// configure writes the scratch server's configuration with the schema
// definitions it lacks and has slapd check it (slaptest).
func (d *Directory) configure(ctx context.Context, missing []schemaDef) error {
	var b strings.Builder
	for _, m := range missing {
		b.WriteString(m.Line + "\n")
	}
	if err := os.WriteFile(d.extraSchema(), []byte(b.String()), 0o600); err != nil {
		return &DirectoryError{What: "production's schema", Err: err}
	}
	if err := os.WriteFile(d.conf(), []byte(d.slapdConf(true)), 0o600); err != nil {
		return &DirectoryError{What: "the scratch server's configuration", Err: err}
	}
	if out, err := exec.CommandContext(ctx, slaptestBin, "-u", "-f", d.conf()).CombinedOutput(); err != nil {
		return &DirectoryError{What: "the scratch server refuses production's schema", Err: schemaRefusal(out, missing, err)}
	}
	return nil
}

// ldifHeader opens an export; slapadd reads entries only.
const ldifHeader = "version: 1\n\n"

// load adds a suffix's exported entries to the scratch server (offline,
// slapadd).
func (d *Directory) load(ctx context.Context, s Suffix) error {
	f, err := os.Open(s.LDIF)
	if err != nil {
		return &DirectoryError{What: "production's export of " + s.DN, Err: err}
	}
	defer f.Close()
	head := make([]byte, len(ldifHeader))
	if n, _ := io.ReadFull(f, head); string(head[:n]) != ldifHeader {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return &DirectoryError{What: "production's export of " + s.DN, Err: err}
		}
	}
	cmd := exec.CommandContext(ctx, slapaddBin, "-q", "-f", d.conf(), "-b", s.DN)
	cmd.Stdin = f
	if out, err := cmd.CombinedOutput(); err != nil {
		return &DirectoryError{What: "the scratch server refuses an entry of " + s.DN, Err: entryRefusal(out, err)}
	}
	return nil
}

// addressesOnLoopback gives the twin's lo every address of production's
// directory (a host route: /32, /128).
func (d *Directory) addressesOnLoopback() error {
	lo, err := netlink.LinkByName("lo")
	if err != nil {
		return err
	}
	if err := netlink.LinkSetUp(lo); err != nil {
		return err
	}
	for _, a := range d.Addresses {
		ip := net.ParseIP(a)
		if ip == nil {
			return fmt.Errorf("address %q", a)
		}
		bits := 32
		if ip.To4() == nil {
			bits = 128
		}
		addr := &netlink.Addr{IPNet: &net.IPNet{IP: ip, Mask: net.CIDRMask(bits, bits)}}
		if err := netlink.AddrAdd(lo, addr); err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("ip addr add %s dev lo: %w", addr.IPNet, err)
		}
	}
	return nil
}

func (d *Directory) conf() string        { return filepath.Join(d.Dir, "slapd.conf") }
func (d *Directory) extraSchema() string { return filepath.Join(d.Dir, "production.schema") }
func (d *Directory) socket() string      { return filepath.Join(d.Dir, "ldapi") }
func (d *Directory) dbDir(i int) string  { return filepath.Join(d.Dir, "db", strconv.Itoa(i)) }

// Log is the scratch server's log (slapd -d stats: every connection,
// bind and operation).
func (d *Directory) Log() string { return filepath.Join(d.Dir, "slapd.log") }

func (d *Directory) ldapiURL() string { return "ldapi://" + strings.ReplaceAll(d.socket(), "/", "%2F") }

// slapdConf is the scratch server's configuration: Debian's schema (and,
// with production, production's definitions it lacks), a database holding
// the root DN's password, and one database per exported suffix whose root
// DN is the same. Access: the root DN everything; every bound DN writes
// (production's access controls are not copied: they are not exported
// in a form OpenLDAP reads); user passwords are for binding only.
func (d *Directory) slapdConf(production bool) string {
	var b strings.Builder
	q := func(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }
	b.WriteString("# msguard rehearse: scratch copy of " + d.URL + "\n")
	for _, s := range scratchSchemaFiles {
		fmt.Fprintf(&b, "include /etc/ldap/schema/%s.schema\n", s)
	}
	if production {
		fmt.Fprintf(&b, "include %s\n", q(d.extraSchema()))
	}
	b.WriteString("modulepath /usr/lib/ldap\nmoduleload back_mdb\n")
	fmt.Fprintf(&b, "pidfile %s\n\n", q(filepath.Join(d.Dir, "slapd.pid")))
	fmt.Fprintf(&b, "database mdb\nsuffix %s\nrootdn %s\nrootpw %s\ndirectory %s\nmaxsize 10485760\n\n",
		q(d.RootDN), q(d.RootDN), d.RootPW, q(filepath.Join(d.Dir, "db", "root")))
	_ = os.MkdirAll(filepath.Join(d.Dir, "db", "root"), 0o700)
	for i, s := range d.Suffixes {
		size := int64(64 << 20)
		if fi, err := os.Stat(s.LDIF); err == nil {
			size = max(size, 8*fi.Size())
		}
		fmt.Fprintf(&b, "database mdb\nsuffix %s\nrootdn %s\ndirectory %s\nmaxsize %d\n", q(s.DN), q(d.RootDN), q(d.dbDir(i)), size)
		b.WriteString("index objectClass eq\n")
		b.WriteString("access to attrs=userPassword by self write by anonymous auth by * none\n")
		b.WriteString("access to * by users write by * read\n\n")
	}
	return b.String()
}

// probeSchema starts slapd with Debian's schema alone, on a socket of its
// own, reads its subschema subentry and stops it.
func (d *Directory) probeSchema(ctx context.Context) (map[string]bool, error) {
	conf := filepath.Join(d.Dir, "probe.conf")
	if err := os.WriteFile(conf, []byte(d.slapdConf(false)), 0o600); err != nil {
		return nil, err
	}
	cmd, err := d.run(ctx, conf, filepath.Join(d.Dir, "probe.log"), d.ldapiURL())
	if err != nil {
		return nil, err
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	var lines []string
	err = d.whenUp(ctx, cmd, ldapdial.Target{URL: d.ldapiURL()}, func(c *ldap.Conn) error {
		res, err := c.Search(ldap.NewSearchRequest("cn=Subschema", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=subschema)", []string{"attributeTypes", "objectClasses"}, nil))
		if err != nil || len(res.Entries) != 1 {
			return fmt.Errorf("read its subschema: %v", err)
		}
		for _, a := range res.Entries[0].GetAttributeValues("attributeTypes") {
			lines = append(lines, "attributetype "+a)
		}
		for _, o := range res.Entries[0].GetAttributeValues("objectClasses") {
			lines = append(lines, "objectclass "+o)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return knownSchema(lines), nil
}

// start runs the loaded scratch server on production's addresses and port
// (and its socket) and waits until it answers there.
func (d *Directory) start(ctx context.Context) (*exec.Cmd, error) {
	urls := []string{d.ldapiURL()}
	for _, a := range d.Addresses {
		urls = append(urls, "ldap://"+net.JoinHostPort(a, strconv.Itoa(d.Port))+"/")
	}
	cmd, err := d.run(ctx, d.conf(), d.Log(), strings.Join(urls, " "))
	if err != nil {
		return nil, &DirectoryError{What: "start the scratch server", Err: err}
	}
	target := ldapdial.Target{URL: "ldap://" + net.JoinHostPort(d.Addresses[0], strconv.Itoa(d.Port))}
	if err := d.whenUp(ctx, cmd, target, func(c *ldap.Conn) error { return c.Bind(d.RootDN, "") }); err != nil {
		// An unauthenticated bind of the root DN is refused: any answer will do.
		var le *ldap.Error
		if !errors.As(err, &le) {
			cmd.Process.Kill()
			cmd.Wait()
			return nil, &DirectoryError{What: "start the scratch server", Err: err}
		}
	}
	return cmd, nil
}

// run starts slapd in the foreground with conf on urls, its log to logFile.
func (d *Directory) run(ctx context.Context, conf, logFile, urls string) (*exec.Cmd, error) {
	log, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	defer log.Close()
	cmd := exec.Command(slapdBin, "-d", "stats", "-f", conf, "-h", urls)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	return cmd, nil
}

// whenUp dials t until the server answers, then runs fn on the
// connection; it fails when slapd exits first (with the end of its log)
// or after serveTimeout.
func (d *Directory) whenUp(ctx context.Context, cmd *exec.Cmd, t ldapdial.Target, fn func(*ldap.Conn) error) error {
	exited := make(chan error, 1)
	// Waiting here reaps slapd only if it ends: the twin's first process,
	// which reaps every orphan, then finds nothing to reap of it.
	go func() { exited <- cmd.Wait() }()
	ctx, cancel := context.WithTimeout(ctx, serveTimeout)
	defer cancel()
	t.Timeout = time.Second
	for {
		if c, err := ldapdial.Dial(ctx, t); err == nil {
			err = fn(c)
			c.Close()
			return err
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("slapd exited (%v): %s", err, logTail(cmd))
		case <-ctx.Done():
			return fmt.Errorf("slapd did not answer on %s within %s: %s", t.URL, serveTimeout, logTail(cmd))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logTail is the last line of slapd's log that says something.
func logTail(cmd *exec.Cmd) string {
	f, ok := cmd.Stderr.(*os.File)
	if !ok {
		return ""
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.TrimSpace(lines[len(lines)-1])
}

var lineRE = regexp.MustCompile(`production\.schema: line (\d+)`)

// schemaRefusal names the definition of production's schema slapd refused.
func schemaRefusal(out []byte, defs []schemaDef, err error) error {
	msg := strings.TrimSpace(lastLines(out, 2))
	if m := lineRE.FindSubmatch(out); m != nil {
		if n, _ := strconv.Atoi(string(m[1])); n >= 1 && n <= len(defs) {
			return fmt.Errorf("%s %s (%s)", defs[n-1].Kind, schemaName(defs[n-1]), msg)
		}
	}
	return fmt.Errorf("%v: %s", err, msg)
}

// entryRE reads slapadd's refusal of an entry: `dn="DN" (line=N): why` or
// `could not add entry dn="DN" (line=N): why`.
var entryRE = regexp.MustCompile(`dn="([^"]*)" \(line=\d+\):? (.*)`)

// entryRefusal names the entry slapadd refused and why.
func entryRefusal(out []byte, err error) error {
	if m := entryRE.FindSubmatch(out); m != nil {
		return fmt.Errorf("%s: %s", m[1], bytes.TrimSpace(m[2]))
	}
	return fmt.Errorf("%v: %s", err, strings.TrimSpace(lastLines(out, 2)))
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "; ")
}
