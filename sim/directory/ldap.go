package directory

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/sim"
)

// ldapTimeout bounds one LDAP dial or request when ctx has no earlier deadline.
const ldapTimeout = 10 * time.Second

// Connect dials url and binds as dn with password; an empty dn stays
// anonymous. The connection closes when ctx ends.
func Connect(ctx context.Context, url, dn, password string) (*ldap.Conn, error) {
	timeout := ldapTimeout
	if d, ok := ctx.Deadline(); ok {
		if left := time.Until(d); left < timeout {
			timeout = left
		}
	}
	if timeout <= 0 {
		return nil, fmt.Errorf("dial %s: %w", url, context.DeadlineExceeded)
	}
	conn, err := ldap.DialURL(url, ldap.DialWithDialer(&net.Dialer{Timeout: timeout}))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	conn.SetTimeout(ldapTimeout)
	context.AfterFunc(ctx, func() { conn.Close() })
	if dn != "" {
		if err := conn.Bind(dn, password); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bind to %s as %s: %w", url, dn, err)
		}
	}
	return conn, nil
}

// Bind checks that dn can bind to url with password.
func Bind(ctx context.Context, url, dn, password string) error {
	conn, err := Connect(ctx, url, dn, password)
	if err != nil {
		return err
	}
	return conn.Close()
}

// SchemaHasObjectClass reports whether the subschema of the server at url
// (bound as dn) defines the object class name (case-insensitive).
func SchemaHasObjectClass(ctx context.Context, url, dn, password, name string) (bool, error) {
	conn, err := Connect(ctx, url, dn, password)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	classes, err := objectClasses(conn)
	if err != nil {
		return false, fmt.Errorf("read schema of %s: %w", url, err)
	}
	for _, c := range classes {
		if strings.Contains(strings.ToLower(c), "name '"+strings.ToLower(name)+"'") {
			return true, nil
		}
	}
	return false, nil
}

func objectClasses(conn *ldap.Conn) ([]string, error) {
	root, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"subschemaSubentry"}, nil))
	if err != nil {
		return nil, fmt.Errorf("read root dse: %w", err)
	}
	sub := "cn=Subschema"
	if len(root.Entries) == 1 {
		if v := root.Entries[0].GetAttributeValue("subschemaSubentry"); v != "" {
			sub = v
		}
	}
	res, err := conn.Search(ldap.NewSearchRequest(sub, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=subschema)", []string{"objectClasses"}, nil))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", sub, err)
	}
	if len(res.Entries) != 1 {
		return nil, fmt.Errorf("read %s: %d entries", sub, len(res.Entries))
	}
	return res.Entries[0].GetAttributeValues("objectClasses"), nil
}

// ssha is the {SSHA} hash of password that OpenLDAP and 389 verify.
func ssha(password string) string {
	salt := make([]byte, 8)
	if _, err := rand.Read(salt); err != nil {
		panic(err)
	}
	h := sha1.Sum(append([]byte(password), salt...))
	return "{SSHA}" + base64.StdEncoding.EncodeToString(append(h[:], salt...))
}

// ldapExport writes every suffix of in, read over LDAP as cn=Directory
// Manager with paged results, to w as LDIF.
func ldapExport(ctx context.Context, st *sim.State, in instance, w io.Writer) error {
	conn, err := Connect(ctx, URL(st, in.ID), DirectoryManagerDN, st.Scenario.Secrets.DirectoryManager)
	if err != nil {
		return err
	}
	defer conn.Close()
	lw := newLDIFWriter(w)
	for _, s := range in.Suffixes {
		req := ldap.NewSearchRequest(s, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			"(objectClass=*)", []string{"*"}, nil)
		res, err := conn.SearchWithPaging(req, 1000)
		if err != nil {
			if ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
				continue
			}
			return fmt.Errorf("export %s: %w", s, err)
		}
		for _, e := range res.Entries {
			lw.ldapEntry(e)
		}
	}
	return lw.flush()
}
