package collectors

import (
	"context"
	"strings"

	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/internal/ldapdial"
)

// Directory dials the directory server with msguard's one LDAP dialer
// (ldapdial): the socket's deadline is the context's, and the socket is
// closed when the context ends, so a server that accepts and never
// answers cannot hold the collector past its deadline.
func (LiveHost) Directory(ctx context.Context, d ldapdial.Target) (DirectorySession, error) {
	l, err := ldapdial.Dial(ctx, d)
	if err != nil {
		return nil, err
	}
	return liveDirectory{l}, nil
}

// liveDirectory is a session on a go-ldap connection.
type liveDirectory struct{ l *ldap.Conn }

func (d liveDirectory) Probe(context.Context) error {
	_, err := d.l.Search(baseSearch("", "namingContexts"))
	return err
}

func (d liveDirectory) Bind(_ context.Context, dn, password string) error {
	return d.l.Bind(dn, password)
}

func (d liveDirectory) Read(_ context.Context, q Query) (map[string][]string, error) {
	res, err := d.l.Search(baseSearch(q.DN, q.Attrs...))
	if err != nil || len(res.Entries) != 1 {
		return nil, err
	}
	out := map[string][]string{}
	for _, a := range res.Entries[0].Attributes {
		k := strings.ToLower(a.Name)
		out[k] = append(out[k], a.Values...)
	}
	return out, nil
}

// Each runs a subtree search in pages of ldapPageSize, asking for no
// attributes; one page at a time is in memory.
func (d liveDirectory) Each(_ context.Context, q Query, fn func(dn string)) error {
	paging := ldap.NewControlPaging(ldapPageSize)
	for {
		req := ldap.NewSearchRequest(q.DN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false,
			q.Filter, []string{"1.1"}, []ldap.Control{paging})
		res, err := d.l.Search(req)
		if err != nil {
			return err
		}
		for _, e := range res.Entries {
			fn(e.DN)
		}
		pc, ok := ldap.FindControl(res.Controls, ldap.ControlTypePaging).(*ldap.ControlPaging)
		if !ok || len(pc.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(pc.Cookie)
	}
}

func (d liveDirectory) Close() { d.l.Close() }

// baseSearch reads one entry's attributes.
func baseSearch(dn string, attrs ...string) *ldap.SearchRequest {
	return ldap.NewSearchRequest(dn, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, nil)
}
