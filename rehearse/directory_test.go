package rehearse

import (
	"context"
	"errors"
	"net"
	"os"
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
