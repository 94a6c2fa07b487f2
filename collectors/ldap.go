package collectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/ldapdial"
)

// Directory defaults, as an iPlanet install uses them.
const (
	DefaultBindDN     = "cn=Directory Manager"
	DefaultUserSuffix = "o=siroe.com"
	PABSuffix         = "o=pab"
)

// ldapPageSize is the simple-paged-results page size. A server that does
// not know the paging control (it is not critical) returns everything in
// one response.
const ldapPageSize = 1000

// RecipientsDigestLimit is the largest number of mail recipients whose DNs
// are held and sorted for LDAP.RecipientsDigest (about 100 MB at 10⁶ DNs);
// above it the digest is left empty and the collector says so.
const RecipientsDigestLimit = 1_000_000

// defaultTimeout applies when neither the context nor Options bound a run.
const defaultTimeout = 30 * time.Second

// ErrNoBindPassword is returned when Options.BindPassword is nil.
var ErrNoBindPassword = errors.New("no bind password: use --bind-password-file or MSGUARD_BIND_PASSWORD")

// ldapTarget is the directory to ask, resolved from Options and install.inf.
type ldapTarget struct {
	scheme   string // "ldap" or "ldaps"
	host     string // without port, for TLS ServerName
	hostPort string
	suffix   string
	bindDN   string
}

// resolveLDAPTarget picks the URL (--ldap-url, else install.inf [General]
// UserDirectoryLdapURL), the user/group suffix (the URL's path, else
// o=siroe.com) and the bind DN (--bind-dn, else cn=Directory Manager).
func resolveLDAPTarget(t *Target) (ldapTarget, error) {
	raw := t.LDAPURL
	if raw == "" && t.InstallInf != nil {
		raw = strings.TrimSpace(t.InstallInf["General"]["UserDirectoryLdapURL"])
	}
	if raw == "" {
		return ldapTarget{}, errors.New("no directory url: give --ldap-url or set UserDirectoryLdapURL in install.inf")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ldapTarget{}, fmt.Errorf("directory url %q: %w", raw, err)
	}
	lt := ldapTarget{scheme: strings.ToLower(u.Scheme), host: u.Hostname(), bindDN: t.BindDN}
	port := u.Port()
	switch lt.scheme {
	case "ldap":
		if port == "" {
			port = "389"
		}
	case "ldaps":
		if port == "" {
			port = "636"
		}
	default:
		return ldapTarget{}, fmt.Errorf("directory url %q: scheme is not ldap or ldaps", raw)
	}
	if lt.host == "" {
		return ldapTarget{}, fmt.Errorf("directory url %q: no host", raw)
	}
	lt.hostPort = net.JoinHostPort(lt.host, port)
	lt.suffix = strings.TrimPrefix(u.Path, "/")
	if lt.suffix == "" {
		lt.suffix = DefaultUserSuffix
	}
	if lt.bindDN == "" {
		lt.bindDN = DefaultBindDN
	}
	return lt, nil
}

// String is the URL as facts report it (no credentials, no query).
func (lt ldapTarget) String() string {
	return lt.scheme + "://" + lt.hostPort + "/" + lt.suffix
}

// collectLDAP connects to the user/group directory, binds as the
// directory manager and records what the upgrade depends on. An
// unreachable server or a refused bind is a fact (Reachable or Bound false,
// Error set, listed as partial), not a collector failure; a missing bind
// password is both recorded in the facts and returned as the error.
//
// RecipientsDigest is the hex SHA-256 over the lower-cased DNs of the mail
// recipients, sorted, one per line (each followed by "\n"). The DNs are
// read in pages of 1000 and only the DN strings are kept; sorting needs
// them all, so the digest is computed up to RecipientsDigestLimit DNs.
func collectLDAP(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	lt, err := resolveLDAPTarget(t)
	if err != nil {
		return nil, err
	}
	f := &facts.LDAP{URL: lt.String(), BindDN: lt.bindDN, TLS: "none", UserSuffix: lt.suffix}
	switch {
	case lt.scheme == "ldaps":
		f.TLS = "ldaps"
	case t.LDAPStartTLS:
		f.TLS = "starttls"
	}
	s.LDAP = f
	if _, ok := ctx.Deadline(); !ok {
		timeout := t.Timeout
		if timeout <= 0 {
			timeout = defaultTimeout
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}

	deadline, _ := ctx.Deadline()
	l, err := t.host.Directory(ctx, ldapdial.Target{URL: lt.scheme + "://" + lt.hostPort, StartTLS: f.TLS == "starttls",
		CA: t.LDAPCA, InsecureSkipVerify: t.InsecureSkipVerify, Timeout: time.Until(deadline)})
	if errors.Is(err, ErrNotGathered) {
		return nil, err
	}
	if err != nil {
		f.Error = err.Error()
		return []string{f.Error}, nil
	}
	defer l.Close()

	if t.BindPassword == nil {
		// Anonymous rootDSE read: is anybody there?
		if err := l.Probe(ctx); err != nil && !answered(err) {
			if errors.Is(err, ErrNotGathered) {
				return nil, err
			}
			f.Error = ldapOpError(ctx, "read root dse from "+lt.hostPort, err).Error()
			return []string{f.Error}, nil
		}
		f.Reachable = true
		f.Error = ErrNoBindPassword.Error()
		return nil, ErrNoBindPassword
	}
	pw, err := t.BindPassword()
	if err != nil {
		f.Error = fmt.Sprintf("bind password: %v", err)
		return nil, fmt.Errorf("bind password: %w", err)
	}
	if err := l.Bind(ctx, lt.bindDN, pw); err != nil {
		if errors.Is(err, ErrNotGathered) {
			return nil, err
		}
		if answered(err) {
			f.Reachable = true
		}
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			f.Error = "invalid credentials for " + lt.bindDN
		} else {
			f.Error = ldapOpError(ctx, "bind as "+lt.bindDN, err).Error()
		}
		return []string{f.Error}, nil
	}
	f.Reachable, f.Bound = true, true
	return readDirectoryFacts(ctx, l, lt, f), nil
}

// answered reports whether err is an LDAP result from the server (as
// opposed to a network failure).
func answered(err error) bool {
	var le *ldap.Error
	return errors.As(err, &le) && le.ResultCode != ldap.ErrorNetwork
}

// ldapOpError names a failed operation, saying "timed out" when the
// collector's deadline ended it.
func ldapOpError(ctx context.Context, op string, err error) error {
	if ctx.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("%s: timed out", op)
	}
	if dl, ok := ctx.Deadline(); ok && !time.Now().Before(dl) {
		return fmt.Errorf("%s: timed out", op)
	}
	return fmt.Errorf("%s: %w", op, err)
}

// readDirectoryFacts fills the facts a bound session can read; what
// fails is returned as partial.
func readDirectoryFacts(ctx context.Context, l DirectorySession, lt ldapTarget, f *facts.LDAP) []string {
	var partial []string
	fail := func(what string, err error) {
		partial = append(partial, ldapOpError(ctx, what, err).Error())
	}
	first := func(v []string) string {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	schemaDN := "cn=Subschema"
	if e, err := l.Read(ctx, Query{Name: "rootdse", Attrs: []string{"namingContexts", "vendorName", "vendorVersion", "subschemaSubentry"}}); err != nil {
		fail("read root dse", err)
	} else if e != nil {
		f.NamingContexts = e["namingcontexts"]
		f.VendorName = first(e["vendorname"])
		f.VendorVersion = first(e["vendorversion"])
		if v := first(e["subschemasubentry"]); v != "" {
			schemaDN = v
		}
	}
	if e, err := l.Read(ctx, Query{Name: "monitor", DN: "cn=monitor", Attrs: []string{"version", "monitoredInfo"}}); err != nil {
		if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
			fail("read cn=monitor", err)
		}
	} else if e != nil {
		f.MonitorVersion = first(e["version"])
		if f.MonitorVersion == "" {
			f.MonitorVersion = first(e["monitoredinfo"])
		}
	}
	if e, err := l.Read(ctx, Query{Name: "schema", DN: schemaDN, Attrs: []string{"objectClasses"}}); err != nil {
		fail("read schema "+schemaDN, err)
	} else if e != nil {
		f.SchemaInetMailUser = schemaHasObjectClass(e["objectclasses"], "inetMailUser")
	}
	if _, err := l.Read(ctx, Query{Name: "pab", DN: PABSuffix, Attrs: []string{"1.1"}}); err == nil {
		f.PABExists = true
	} else if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		fail("read "+PABSuffix, err)
	}

	var dns []string
	var count int64
	err := l.Each(ctx, Query{Name: "recipients", DN: lt.suffix, Filter: "(objectClass=inetLocalMailRecipient)"}, func(dn string) {
		count++
		if count <= RecipientsDigestLimit {
			dns = append(dns, strings.ToLower(dn))
		} else {
			dns = nil
		}
	})
	switch {
	case err != nil:
		fail("count mail recipients under "+lt.suffix, err)
	case count > RecipientsDigestLimit:
		f.MailRecipients = count
		partial = append(partial, fmt.Sprintf("more than %d mail recipients: digest not computed", RecipientsDigestLimit))
	default:
		f.MailRecipients = count
		sort.Strings(dns)
		f.RecipientsDigest = usersDigest(dns)
	}
	if f.PABExists {
		var n int64
		if err := l.Each(ctx, Query{Name: "pabentries", DN: PABSuffix, Filter: "(objectClass=*)"}, func(string) { n++ }); err != nil {
			fail("count entries under "+PABSuffix, err)
		} else {
			f.PABEntries = max(n-1, 0) // not the o=pab entry itself
		}
	}
	return partial
}

// objectClassName matches the NAME of an objectClasses value: NAME 'x' or
// NAME ( 'x' 'y' ).
var objectClassName = regexp.MustCompile(`(?i)\bNAME\s+(\(\s*(?:'[^']*'\s*)+\)|'[^']*')`)

// schemaHasObjectClass reports whether one of the objectClasses
// definitions is named name (case-insensitive).
func schemaHasObjectClass(defs []string, name string) bool {
	for _, d := range defs {
		m := objectClassName.FindStringSubmatch(d)
		if m == nil {
			continue
		}
		for _, n := range strings.Split(strings.Trim(m[1], "() "), "'") {
			if strings.EqualFold(strings.TrimSpace(n), name) {
				return true
			}
		}
	}
	return false
}
