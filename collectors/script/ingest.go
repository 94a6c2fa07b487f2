package script

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
)

// NotGathered is the error of a version source that only a live run can
// read: the script makes no network connection.
const NotGathered = "not gathered by the collector script: it makes no network connection (greetings and Server headers need a live msguard collect)"

// Ingest turns a collector script's bundle (tar+gzip or text) into the
// snapshot that `msguard collect` would have taken on that host. What the
// script could not gather is a collector error, never a pass. A bundle
// that is not one, or names an unusable server root, is a usage error.
func Ingest(ctx context.Context, r io.Reader) (*facts.Snapshot, error) {
	br, err := openBundle(r)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	m, err := readMaterial(ctx, br)
	if err != nil {
		if ctx.Err() != nil {
			return nil, err
		}
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	if !m.done {
		return nil, exitcode.Usagef("bundle: incomplete (no DONE line): the collector script did not finish")
	}
	opts := collectors.Options{
		ServerRoot: m.meta["root"], WebServerRoot: m.meta["wsroot"], Instance: m.meta["instance"],
		LDAPURL: m.meta["ldap_url"], BindDN: m.meta["bind_dn"], BackupDir: m.meta["backup_dir"],
		StateDir: m.meta["state_dir"], LDAPStartTLS: m.meta["starttls"] != "",
	}
	if opts.ServerRoot == "" {
		return nil, exitcode.Usagef("bundle: no server root in its meta section")
	}
	s, t, err := collectors.CollectFrom(ctx, bundleHost{m}, opts, bundleAdvice)
	if err != nil {
		return nil, err
	}
	s.CollectedAt = m.now
	s.Root = strings.HasPrefix(m.meta["id"], "uid=0(")
	// The ldap collector reads a live directory; the bundle holds
	// ldapsearch's answers instead (ldapFacts).
	partial, err := m.ldapFacts(t, s)
	run := facts.CollectorRun{Partial: partial}
	if err != nil {
		run.Error = err.Error()
	}
	s.Collectors[facts.CollectorLDAP] = run
	return s, nil
}

// hostNames are the host's names: uname -n, hostname, and the names
// /etc/hosts gives to the addresses it lists for them.
func (m *material) hostNames() []string {
	names := []string{m.meta["nodename"], m.meta["hostname"]}
	own := map[string]bool{strings.ToLower(m.meta["nodename"]): true, strings.ToLower(m.meta["hostname"]): true}
	addrs := map[string]bool{}
	lines := strings.Split(m.hosts, "\n")
	for _, l := range lines {
		f := strings.Fields(strings.SplitN(l, "#", 2)[0])
		for _, n := range f[min(1, len(f)):] {
			if own[strings.ToLower(n)] {
				addrs[f[0]] = true
			}
		}
	}
	for _, l := range lines {
		f := strings.Fields(strings.SplitN(l, "#", 2)[0])
		if len(f) > 1 && addrs[f[0]] {
			names = append(names, f[1:]...)
		}
	}
	return names
}

// treePartial lists what ls could not read, and lines it could not parse.
func (m *material) treePartial(name string) []string {
	p := append([]string(nil), m.treeErrs[name]...)
	var ts *treeScan
	if name == "queue" {
		ts = m.queue
	} else {
		ts = m.store
	}
	if ts != nil && ts.bad > 0 {
		p = append(p, fmt.Sprintf("%d lines of the %s listing not understood", ts.bad, name))
	}
	return p
}

// LDAP result codes ldapsearch exits with.
const (
	ldapNoSuchObject       = "32"
	ldapInvalidCredentials = "49"
)

// ldapFacts mirrors the ldap collector on the ldapsearch runs of the
// script. Without ldapsearch on the host the directory is not read, and
// that is the collector's error.
func (m *material) ldapFacts(t *collectors.Target, s *facts.Snapshot) ([]string, error) {
	lt, err := collectors.ResolveLDAPTarget(t)
	if err != nil {
		return nil, err
	}
	if m.ldapMeta["ldapsearch"] == "" {
		return nil, errors.New("ldapsearch not found on the host: the directory was not read (put ldapsearch on PATH and run the collector script again)")
	}
	f := &facts.LDAP{URL: lt.URL, BindDN: lt.BindDN, TLS: "none", UserSuffix: lt.Suffix}
	switch {
	case lt.Scheme == "ldaps":
		f.TLS = "ldaps"
	case t.LDAPStartTLS:
		f.TLS = "starttls"
	}
	s.LDAP = f
	if m.ldapMeta["password"] != "file" {
		a := m.ldap["anon"]
		if a == nil {
			return nil, errors.New("ldap: no root dse read in the bundle")
		}
		if a.rc != "0" {
			f.Error = ldapError("read root dse from "+lt.HostPort, a)
			return []string{f.Error}, nil
		}
		f.Reachable = true
		if m.ldapMeta["password"] == "unreadable" {
			f.Error = "bind password: the file named by MSGUARD_BIND_PASSWORD_FILE is not readable"
			return nil, errors.New(f.Error)
		}
		f.Error = collectors.ErrNoBindPassword.Error()
		return nil, collectors.ErrNoBindPassword
	}
	root := m.ldap["rootdse"]
	if root == nil {
		return nil, errors.New("ldap: no root dse read in the bundle")
	}
	switch root.rc {
	case "0":
	case ldapInvalidCredentials:
		f.Reachable = true
		f.Error = "invalid credentials for " + lt.BindDN
		return []string{f.Error}, nil
	default:
		f.Error = ldapError("connect "+lt.HostPort, root)
		return []string{f.Error}, nil
	}
	f.Reachable, f.Bound = true, true
	var partial []string
	if es := parseLDIF(root.ldif); len(es) == 1 {
		f.NamingContexts = es[0]["namingcontexts"]
		f.VendorName = first(es[0]["vendorname"])
		f.VendorVersion = first(es[0]["vendorversion"])
	}
	if mon := m.ldap["monitor"]; mon != nil && mon.rc == "0" {
		if es := parseLDIF(mon.ldif); len(es) == 1 {
			f.MonitorVersion = first(es[0]["version"])
			if f.MonitorVersion == "" {
				f.MonitorVersion = first(es[0]["monitoredinfo"])
			}
		}
	} else if mon != nil && mon.rc != ldapNoSuchObject {
		partial = append(partial, ldapError("read cn=monitor", mon))
	}
	if sc := m.ldap["schema"]; sc != nil && sc.rc == "0" {
		if es := parseLDIF(sc.ldif); len(es) == 1 {
			f.SchemaInetMailUser = collectors.SchemaHasObjectClass(es[0]["objectclasses"], "inetMailUser")
		}
	} else if sc != nil {
		partial = append(partial, ldapError("read schema", sc))
	}
	if pab := m.ldap["pab"]; pab != nil && pab.rc == "0" {
		f.PABExists = true
	} else if pab != nil && pab.rc != ldapNoSuchObject {
		partial = append(partial, ldapError("read "+collectors.PABSuffix, pab))
	}
	if rc := m.ldap["recipients"]; rc != nil && rc.rc == "0" {
		es := parseLDIF(rc.ldif)
		f.MailRecipients = int64(len(es))
		if len(es) > collectors.RecipientsDigestLimit {
			partial = append(partial, fmt.Sprintf("more than %d mail recipients: digest not computed", collectors.RecipientsDigestLimit))
		} else {
			dns := make([]string, 0, len(es))
			for _, e := range es {
				dns = append(dns, strings.ToLower(first(e["dn"])))
			}
			sort.Strings(dns)
			f.RecipientsDigest = collectors.UsersDigest(dns)
		}
	} else if rc != nil {
		partial = append(partial, ldapError("count mail recipients under "+lt.Suffix, rc))
	}
	if f.PABExists {
		if pe := m.ldap["pabentries"]; pe != nil && pe.rc == "0" {
			f.PABEntries = max(int64(len(parseLDIF(pe.ldif)))-1, 0)
		} else if pe != nil {
			partial = append(partial, ldapError("count entries under "+collectors.PABSuffix, pe))
		}
	}
	return partial, nil
}

// ldapError names a failed ldapsearch with what it printed on stderr.
func ldapError(op string, l *ldapSec) string {
	msg := strings.TrimSpace(strings.Join(l.stderr, "; "))
	if msg == "" {
		msg = "ldapsearch exit status " + l.rc
	}
	return op + ": " + msg
}

// parseLDIF reads ldapsearch -LLL output: entries separated by blank
// lines, folded lines continued by a leading space, "attr:: base64".
// Attribute names are lower-cased; the DN is under "dn".
func parseLDIF(lines []string) []map[string][]string {
	var out []map[string][]string
	var cur map[string][]string
	var logical []string
	for _, l := range lines {
		switch {
		case strings.HasPrefix(l, " ") && len(logical) > 0:
			logical[len(logical)-1] += l[1:]
			continue
		case strings.HasPrefix(l, "#"):
			continue
		}
		logical = append(logical, l)
	}
	for _, l := range logical {
		if l == "" {
			cur = nil
			continue
		}
		name, val, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(val, ":"):
			if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(val[1:])); err == nil {
				val = string(b)
			} else {
				val = strings.TrimSpace(val[1:])
			}
		case strings.HasPrefix(val, "<"):
			val = strings.TrimSpace(val[1:])
		default:
			val = strings.TrimPrefix(val, " ")
		}
		if cur == nil {
			cur = map[string][]string{}
			out = append(out, cur)
		}
		k := strings.ToLower(name)
		cur[k] = append(cur[k], val)
	}
	return out
}

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func listOrNone(list []string) string {
	if len(list) == 0 {
		return "none"
	}
	return strings.Join(list, ", ")
}
