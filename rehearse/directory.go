package rehearse

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/internal/ldapdial"
	"github.com/msguard/msguard/remediate/ldapexport"
)

// The suffixes of a messaging install besides its user/group suffix: the
// personal address books and the configuration directory.
const (
	pabSuffix    = "o=pab"
	configSuffix = "o=NetscapeRoot"
)

// Directory is the scratch directory server the twin stands up in place
// of a directory on another host: production's suffixes and schema, as
// read from it before the twin starts, served by a real slapd on
// production's address and port inside the twin's network namespace.
type Directory struct {
	// URL is production's directory as the host's clients dial it.
	URL string `json:"url"`
	// Addresses are what the URL's host resolves to; the twin's loopback
	// takes each, so every client in the twin dialing the directory
	// reaches the scratch server.
	Addresses []string `json:"addresses"`
	Port      int      `json:"port"`
	// Suffixes are the exported naming contexts, each an LDIF file.
	Suffixes []Suffix `json:"suffixes"`
	// Schema is a file of production's attribute types and object classes
	// (RFC 4512 descriptions), attribute types first, one per line.
	Schema string `json:"schema"`
	// RootDN binds with the password msguard was given (RootPW, its
	// salted SHA-1 hash, never the password itself).
	RootDN string `json:"root_dn"`
	RootPW string `json:"root_pw"`
	// Dir holds the scratch server's configuration, databases and log.
	Dir string `json:"dir"`
	// ExportMS is how long the export of production's directory took.
	ExportMS int64 `json:"export_ms"`
}

// Suffix is one exported naming context.
type Suffix struct {
	DN      string `json:"dn"`
	LDIF    string `json:"ldif"`
	Entries int64  `json:"entries"`
}

// Entries is the number of entries exported, every suffix together.
func (d *Directory) Entries() int64 {
	var n int64
	for _, s := range d.Suffixes {
		n += s.Entries
	}
	return n
}

// DirectoryError is a failure to stand up the scratch directory: from the
// export of production's (nothing touched) to the scratch server refusing
// production's schema or an entry. Its message is one line.
type DirectoryError struct {
	What string // what failed
	Err  error
}

func (e *DirectoryError) Error() string {
	msg := strings.Join(strings.Fields(e.Err.Error()), " ")
	return fmt.Sprintf("scratch directory: %s: %s; nothing was touched", e.What, msg)
}

func (e *DirectoryError) Unwrap() error { return e.Err }

// RemoteAddresses resolves the host of an ldap:// URL (as the host's
// clients would: /etc/hosts, then DNS) and returns its addresses and port.
func RemoteAddresses(ctx context.Context, rawURL string) ([]string, int, error) {
	a, err := ldapdial.ParseURL(rawURL)
	if err != nil {
		return nil, 0, fmt.Errorf("directory URL %s: %w", rawURL, err)
	}
	if a.Scheme != "ldap" {
		return nil, 0, fmt.Errorf("directory URL %s: the scratch server speaks plain ldap:// only (its clients would refuse a certificate it cannot have)", rawURL)
	}
	host, portStr, _ := net.SplitHostPort(a.Address)
	port, _ := strconv.Atoi(portStr)
	ips, err := net.DefaultResolver.LookupIPAddr(ctx, host)
	if err != nil {
		return nil, 0, fmt.Errorf("resolve %s: %w", host, err)
	}
	var out []string
	for _, ip := range ips {
		out = append(out, ip.IP.String())
	}
	return out, port, nil
}

// ExportDirectory reads production's directory, read-only, into dir: the
// user/group suffix and, where the directory holds them, o=pab and
// o=NetscapeRoot (each a streamed LDIF export of every user attribute,
// password hashes included when the bind DN may read them), and the
// subschema subentry's attribute types and object classes. It binds as
// conn.BindDN with conn.Password, the credentials remediate uses; the
// scratch server's root DN takes the same.
func ExportDirectory(ctx context.Context, conn ldapexport.Conn, userSuffix, dir string) (*Directory, error) {
	started := time.Now()
	d := &Directory{URL: conn.URL, RootDN: conn.BindDN, Dir: filepath.Join(dir, "directory")}
	fail := func(what string, err error) (*Directory, error) { return nil, &DirectoryError{What: what, Err: err} }
	var err error
	if d.Addresses, d.Port, err = RemoteAddresses(ctx, conn.URL); err != nil {
		return fail("production's directory", err)
	}
	if conn.BindDN == "" || conn.Password == "" {
		return fail("production's directory", fmt.Errorf("the export needs the Directory Manager's password (--bind-password-file or MSGUARD_BIND_PASSWORD)"))
	}
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return fail("create "+d.Dir, err)
	}
	lc, err := conn.Dial(ctx)
	if err != nil {
		return fail("export of "+conn.URL, err)
	}
	contexts, schema, err := readRootAndSchema(lc)
	lc.Close()
	if err != nil {
		return fail("export of "+conn.URL, err)
	}
	d.Schema = filepath.Join(d.Dir, "production-schema.txt")
	if err := os.WriteFile(d.Schema, []byte(strings.Join(schema, "\n")+"\n"), 0o600); err != nil {
		return fail("write "+d.Schema, err)
	}
	var bases []string
	for _, want := range []string{userSuffix, pabSuffix, configSuffix} {
		for _, nc := range contexts {
			if sameDN(nc, want) {
				bases = append(bases, nc)
			}
		}
	}
	if len(bases) == 0 || !sameDN(bases[0], userSuffix) {
		return fail("export of "+conn.URL, fmt.Errorf("the directory does not hold the user/group suffix %s (its naming contexts: %s)", userSuffix, strings.Join(contexts, "; ")))
	}
	for i, base := range bases {
		out := filepath.Join(d.Dir, fmt.Sprintf("suffix-%d.ldif", i))
		n, err := ldapexport.Export(ctx, conn, base, "(objectClass=*)", out)
		if err != nil && ldapexport.IsNoSuchObject(err) {
			// A suffix served without its base entry yet (o=pab before
			// ims_dssetup.pl): served empty in the twin too.
			n, err = 0, os.WriteFile(out, nil, 0o600)
		}
		if err != nil {
			return fail("export of "+base, err)
		}
		d.Suffixes = append(d.Suffixes, Suffix{DN: base, LDIF: out, Entries: n})
	}
	if d.RootPW, err = ssha(conn.Password); err != nil {
		return fail("hash the root password", err)
	}
	d.ExportMS = time.Since(started).Milliseconds()
	return d, nil
}

// readRootAndSchema reads the root DSE's naming contexts and the
// subschema subentry's attribute types and object classes.
func readRootAndSchema(c *ldap.Conn) (contexts, schema []string, err error) {
	res, err := c.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"namingContexts", "subschemaSubentry"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return nil, nil, fmt.Errorf("read the root DSE: %v", err)
	}
	contexts = res.Entries[0].GetAttributeValues("namingContexts")
	sub := res.Entries[0].GetAttributeValue("subschemaSubentry")
	if sub == "" {
		sub = "cn=schema"
	}
	res, err = c.Search(ldap.NewSearchRequest(sub, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=subschema)", []string{"attributeTypes", "objectClasses"}, nil))
	if err != nil || len(res.Entries) != 1 {
		return nil, nil, fmt.Errorf("read the subschema subentry %s: %v", sub, err)
	}
	e := res.Entries[0]
	for _, a := range e.GetAttributeValues("attributeTypes") {
		schema = append(schema, "attributetype "+a)
	}
	for _, o := range e.GetAttributeValues("objectClasses") {
		schema = append(schema, "objectclass "+o)
	}
	if len(schema) == 0 {
		return nil, nil, fmt.Errorf("the subschema subentry %s lists no attribute types or object classes", sub)
	}
	return contexts, schema, nil
}

// sameDN compares two DNs as LDAP does (case and spacing aside).
func sameDN(a, b string) bool {
	da, errA := ldap.ParseDN(a)
	db, errB := ldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(a, b)
	}
	return da.EqualFold(db)
}

// ssha is an RFC 2307 {SSHA} hash of password with a random salt.
func ssha(password string) (string, error) {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	h := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...)), nil
}
