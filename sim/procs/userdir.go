package procs

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/directory"
	"github.com/msguard/msguard/sim/tree"
)

// userDir is the user/group directory as the messaging daemons find it in
// msg.conf (local.ugldaphost, local.ugldapport, local.ugldapbasedn).
type userDir struct {
	url, base string
}

// userDirOf reads the user directory's address from the instance's
// msg.conf, falling back to the scenario's first slapd port.
func userDirOf(st *sim.State) userDir {
	conf := map[string]string{}
	if lines, err := readLines(filepath.Join(st.Paths().Inst(), "config", "msg.conf")); err == nil {
		conf = parseMsgConf(lines)
	}
	host, port, base := conf["local.ugldaphost"], conf["local.ugldapport"], conf["local.ugldapbasedn"]
	if host == "" {
		host = "127.0.0.1"
	}
	if port == "" {
		port = fmt.Sprint(st.Scenario.Ports.LDAP)
	}
	if base == "" {
		base = directory.UserSuffix
	}
	return userDir{url: "ldap://" + net.JoinHostPort(host, port), base: base}
}

// errNoSuchUser: the directory has no mail user for the name.
var errNoSuchUser = errors.New("no such user")

// userLookupTimeout bounds one directory lookup of a daemon.
const userLookupTimeout = 10 * time.Second

// find returns the DN and uid of the one mail user matching filter
// (anonymous search under the base, as the directory's ACL allows); when
// the search finds nothing and fallbackUID is set, the entry
// uid=<fallbackUID>,ou=People,<base> is assumed (a directory that hides
// entries from anonymous searches still lets the bind decide).
func (d userDir) find(ctx context.Context, filter, fallbackUID string) (dn, uid string, err error) {
	ctx, cancel := context.WithTimeout(ctx, userLookupTimeout)
	defer cancel()
	conn, err := directory.Connect(ctx, d.url, "", "")
	if err != nil {
		return "", "", err
	}
	defer conn.Close()
	res, err := conn.Search(ldap.NewSearchRequest(d.base, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 2, 0, false,
		filter, []string{"uid"}, nil))
	if err != nil && !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) && !ldap.IsErrorWithCode(err, ldap.LDAPResultInsufficientAccessRights) {
		return "", "", fmt.Errorf("search %s for %s: %w", d.url, filter, err)
	}
	if res != nil && len(res.Entries) == 1 {
		return res.Entries[0].DN, res.Entries[0].GetAttributeValue("uid"), nil
	}
	if res != nil && len(res.Entries) > 1 {
		return "", "", fmt.Errorf("search %s for %s: more than one entry", d.url, filter)
	}
	if fallbackUID != "" {
		return "uid=" + ldap.EscapeDN(fallbackUID) + ",ou=People," + d.base, fallbackUID, nil
	}
	return "", "", errNoSuchUser
}

// authenticate checks a login: it finds the user's entry by uid and binds
// as it with password (a real bind against the scenario's directory). It
// returns the uid whose mailbox the session opens.
func (d userDir) authenticate(ctx context.Context, login, password string) (string, error) {
	if login == "" || password == "" {
		return "", errBadCredentials
	}
	dn, uid, err := d.find(ctx, "(uid="+ldap.EscapeFilter(login)+")", login)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, userLookupTimeout)
	defer cancel()
	if err := directory.Bind(ctx, d.url, dn, password); err != nil {
		if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
			return "", errBadCredentials
		}
		return "", err
	}
	return uid, nil
}

// errBadCredentials: the directory refused the password (or there is none).
var errBadCredentials = errors.New("invalid user name or password")

// resolveRecipient maps a local address to the uid of its mailbox: the
// directory entry whose mail attribute is addr.
func (d userDir) resolveRecipient(ctx context.Context, addr string) (string, error) {
	_, uid, err := d.find(ctx, "(&(objectClass=inetLocalMailRecipient)(mail="+ldap.EscapeFilter(addr)+"))", "")
	if err != nil {
		return "", err
	}
	if uid == "" {
		return "", fmt.Errorf("the entry of %s has no uid", addr)
	}
	return uid, nil
}

// localDomains are the domains whose mail the install delivers into its
// store: local.defdomain and the host's own name (imta.cnf's rewrite
// rules), lower-case.
func localDomains(st *sim.State) []string {
	out := []string{strings.ToLower(tree.DefDomain)}
	if h := strings.ToLower(st.Scenario.Host); h != "" && h != out[0] {
		out = append(out, h)
	}
	return out
}
