package rehearse

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/remediate/ldapexport"
)

// TestExportDirectoryRefused: each way the export of production's
// directory can fail is one line naming what failed, and nothing is left
// behind but the scratch directory's own files.
func TestExportDirectoryRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := l.Addr().String()
	l.Close()
	tests := []struct {
		name string
		conn ldapexport.Conn
		want string
	}{
		{"nothing listens", ldapexport.Conn{URL: "ldap://" + closed + "/o=siroe.com", BindDN: "cn=Directory Manager", Password: "pw"},
			"scratch directory: export of ldap://" + closed + "/o=siroe.com: "},
		{"a name that does not resolve", ldapexport.Conn{URL: "ldap://directory.invalid:389", BindDN: "cn=Directory Manager", Password: "pw"},
			"scratch directory: production's directory: resolve directory.invalid: "},
		{"over TLS", ldapexport.Conn{URL: "ldaps://" + closed, BindDN: "cn=Directory Manager", Password: "pw"},
			"scratch directory: production's directory: directory URL ldaps://" + closed + ": the scratch server speaks plain ldap:// only"},
		{"no password", ldapexport.Conn{URL: "ldap://" + closed, BindDN: "cn=Directory Manager"},
			"scratch directory: production's directory: the export needs the Directory Manager's password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.conn.Timeout = 5 * time.Second
			d, err := ExportDirectory(context.Background(), tt.conn, "o=siroe.com", t.TempDir())
			var de *DirectoryError
			if d != nil || !errors.As(err, &de) {
				t.Fatalf("ExportDirectory: %v, %v; want a DirectoryError", d, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, tt.want) || !strings.HasSuffix(msg, "; nothing was touched") || strings.Contains(msg, "\n") || strings.Contains(msg, "pw") {
				t.Errorf("error %q; want one line starting %q", msg, tt.want)
			}
		})
	}
}

// TestSlapdConf: the scratch server's configuration holds the root DN's
// hash, never its password, and a database per suffix.
func TestSlapdConf(t *testing.T) {
	h, err := ssha("secret-pw")
	if err != nil || !strings.HasPrefix(h, "{SSHA}") {
		t.Fatalf("ssha: %q %v", h, err)
	}
	d := &Directory{URL: "ldap://ds:389", RootDN: "cn=Directory Manager", RootPW: h, Dir: t.TempDir(),
		Suffixes: []Suffix{{DN: "o=siroe.com"}, {DN: "o=NetscapeRoot"}}}
	conf := d.slapdConf(true)
	if strings.Contains(conf, "secret-pw") || !strings.Contains(conf, "rootpw "+h) || strings.Count(conf, "database mdb") != 3 ||
		!strings.Contains(conf, `suffix "o=NetscapeRoot"`) || !strings.Contains(conf, "production.schema") {
		t.Errorf("slapd.conf:\n%s", conf)
	}
	if strings.Contains(d.slapdConf(false), "production.schema") {
		t.Errorf("the probe's configuration includes production's schema")
	}
	os.RemoveAll(d.Dir)
}

// TestScratchServerRefusals runs Debian's slaptest and slapadd on a
// scratch configuration: a schema definition slapd refuses, and an entry
// it refuses, are each one line naming the definition or the entry.
func TestScratchServerRefusals(t *testing.T) {
	h, err := ssha("pw")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ldif := filepath.Join(dir, "suffix-0.ldif")
	d := &Directory{URL: "ldap://ds:389", RootDN: "cn=Directory Manager", RootPW: h, Dir: filepath.Join(dir, "directory"),
		Suffixes: []Suffix{{DN: "o=siroe.com", LDIF: ldif}}}
	if err := os.MkdirAll(d.dbDir(0), 0o700); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good, err := missingSchema([]string{
		"attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'mailUserStatus' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
		"objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'inetMailUser' SUP top AUXILIARY MAY ( mail $ mailUserStatus ) )",
	}, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	// An object class naming an attribute type nobody defined.
	bad, err := missingSchema([]string{
		"attributetype ( 1.3.6.1.4.1.99999.1.1 NAME 'mailUserStatus' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
		"objectclass ( 1.3.6.1.4.1.99999.2.1 NAME 'inetMailUser' SUP top AUXILIARY MAY ( mailUserStatus $ mailNoSuchAttr ) )",
	}, map[string]bool{})
	if err != nil {
		t.Fatal(err)
	}
	err = d.configure(ctx, bad)
	if err == nil || !strings.HasPrefix(err.Error(), "scratch directory: the scratch server refuses production's schema: objectclass inetmailuser (") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("schema refusal: %v", err)
	}
	if err := d.configure(ctx, good); err != nil {
		t.Fatalf("a schema slapd takes: %v", err)
	}
	// An entry of an object class the scratch server does not know.
	entries := "version: 1\n\ndn: o=siroe.com\nobjectClass: top\nobjectClass: organization\no: siroe.com\n\n" +
		"dn: uid=u1,o=siroe.com\nobjectClass: top\nobjectClass: noSuchClass\nuid: u1\n\n"
	if err := os.WriteFile(ldif, []byte(entries), 0o600); err != nil {
		t.Fatal(err)
	}
	err = d.load(ctx, d.Suffixes[0])
	if err == nil || !strings.HasPrefix(err.Error(), "scratch directory: the scratch server refuses an entry of o=siroe.com: uid=u1,o=siroe.com: ") ||
		strings.Contains(err.Error(), "\n") {
		t.Errorf("entry refusal: %v", err)
	}
}

// TestServeWithoutSlapd: without Debian's slapd the scratch directory is
// refused, in one line naming the program, before anything is set up.
func TestServeWithoutSlapd(t *testing.T) {
	saved := slapdBin
	slapdBin = filepath.Join(t.TempDir(), "slapd")
	defer func() { slapdBin = saved }()
	d := &Directory{URL: "ldap://ds:389", Addresses: []string{"192.0.2.10"}, Port: 389, Dir: t.TempDir()}
	cmd, err := d.Serve(context.Background())
	if cmd != nil || err == nil || !strings.Contains(err.Error(), slapdBin+" is missing: install Debian's slapd package") || strings.Contains(err.Error(), "\n") {
		t.Errorf("Serve without slapd: %v", err)
	}
	if entries, _ := os.ReadDir(d.Dir); len(entries) != 0 {
		t.Errorf("Serve without slapd left %d files in %s", len(entries), d.Dir)
	}
}
