package directory

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/sim"
)

// entry is an LDIF entry: DN and attribute/value pairs in order.
type entry struct {
	DN    string
	Attrs [][2]string
}

func (e *entry) add(attr string, values ...string) {
	for _, v := range values {
		e.Attrs = append(e.Attrs, [2]string{attr, v})
	}
}

// UserUID is the uid of the n-th user (1-based): user0001, user0002, ...
func UserUID(n int) string { return fmt.Sprintf("user%04d", n) }

// UserPassword is the password of the simulated user uid, except the
// probe account's (PasswordOf).
func UserPassword(uid string) string { return "pw-" + uid }

// PasswordOf is the directory password of user uid in scenario sc: the
// probe account's is Secrets.ProbePassword, every other user's
// UserPassword(uid).
func PasswordOf(sc *sim.Scenario, uid string) string {
	if uid == sc.Secrets.ProbeUID && sc.Secrets.ProbePassword != "" {
		return sc.Secrets.ProbePassword
	}
	return UserPassword(uid)
}

// seedEntries returns the entries of suffix for a scenario; none for o=pab
// when PABMissing.
func seedEntries(sc *sim.Scenario, suffix string) []entry {
	var out []entry
	org := func(dn, o string) {
		e := entry{DN: dn}
		e.add("objectClass", "top", "organization")
		e.add("o", o)
		out = append(out, e)
	}
	ou := func(dn, name string) {
		e := entry{DN: dn}
		e.add("objectClass", "top", "organizationalUnit")
		e.add("ou", name)
		out = append(out, e)
	}
	switch suffix {
	case UserSuffix:
		org(UserSuffix, "siroe.com")
		ou(PeopleDN, "People")
		ou("ou=Groups,"+UserSuffix, "Groups")
		admin := entry{DN: "uid=" + sc.Secrets.ServiceAdminID + "," + PeopleDN}
		admin.add("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson")
		admin.add("uid", sc.Secrets.ServiceAdminID)
		admin.add("cn", "Messaging Service Administrator")
		admin.add("sn", "Administrator")
		admin.add("userPassword", ssha(sc.Secrets.ServiceAdmin))
		out = append(out, admin)
		for i := 1; i <= sc.Users; i++ {
			uid := UserUID(i)
			e := entry{DN: "uid=" + uid + "," + PeopleDN}
			e.add("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson", "inetLocalMailRecipient")
			e.add("uid", uid)
			e.add("cn", fmt.Sprintf("User %04d", i))
			e.add("sn", fmt.Sprintf("%04d", i))
			e.add("mail", uid+"@siroe.com")
			e.add("mailHost", sc.Host)
			e.add("userPassword", ssha(PasswordOf(sc, uid)))
			out = append(out, e)
		}
	case PABSuffix:
		if sc.PABMissing {
			return nil
		}
		org(PABSuffix, "pab")
		for i := 1; i <= sc.PAB; i++ {
			e := entry{DN: fmt.Sprintf("cn=pab%04d,%s", i, PABSuffix)}
			e.add("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson")
			e.add("cn", fmt.Sprintf("pab%04d", i))
			e.add("sn", fmt.Sprintf("Contact %04d", i))
			e.add("mail", fmt.Sprintf("contact%04d@example.com", i))
			out = append(out, e)
		}
	case ConfigSuffix:
		org(ConfigSuffix, "NetscapeRoot")
		ou("ou=TopologyManagement,"+ConfigSuffix, "TopologyManagement")
		ou("ou=Administrators,ou=TopologyManagement,"+ConfigSuffix, "Administrators")
		e := entry{DN: ConfigAdminDN}
		e.add("objectClass", "top", "person", "organizationalPerson", "inetOrgPerson")
		e.add("uid", "admin")
		e.add("cn", "Configuration Administrator")
		e.add("sn", "Administrator")
		e.add("userPassword", ssha(sc.Secrets.ConfigAdmin))
		out = append(out, e)
	}
	return out
}

// ldifWriter writes entries as LDIF, base64 for values that need it.
type ldifWriter struct {
	w *bufio.Writer
}

func newLDIFWriter(w io.Writer) *ldifWriter { return &ldifWriter{w: bufio.NewWriter(w)} }

func (lw *ldifWriter) line(attr, v string) {
	if safeLDIF(v) {
		fmt.Fprintf(lw.w, "%s: %s\n", attr, v)
		return
	}
	fmt.Fprintf(lw.w, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(v)))
}

func (lw *ldifWriter) entry(e entry) {
	lw.line("dn", e.DN)
	for _, av := range e.Attrs {
		lw.line(av[0], av[1])
	}
	lw.w.WriteString("\n")
}

func (lw *ldifWriter) ldapEntry(e *ldap.Entry) {
	lw.line("dn", e.DN)
	for _, a := range e.Attributes {
		for _, v := range a.Values {
			lw.line(a.Name, v)
		}
	}
	lw.w.WriteString("\n")
}

func (lw *ldifWriter) flush() error { return lw.w.Flush() }

// safeLDIF: RFC 2849 SAFE-STRING.
func safeLDIF(v string) bool {
	if v == "" {
		return true
	}
	switch v[0] {
	case ' ', ':', '<':
		return false
	}
	if v[len(v)-1] == ' ' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c == 0 || c == '\n' || c == '\r' || c >= 0x80 {
			return false
		}
	}
	return true
}
