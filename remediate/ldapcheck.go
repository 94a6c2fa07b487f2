package remediate

import (
	"context"
	"github.com/msguard/msguard/remediate/ldapexport"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// ldapDSSetupState asks the directory whether ims_dssetup.pl's effects are
// there: the inetMailUser object class in the schema, and the o=pab entry.
func ldapDSSetupState(ctx context.Context, c ldapexport.Conn) (schema, pab bool, err error) {
	conn, err := c.Dial(ctx)
	if err != nil {
		return false, false, err
	}
	defer conn.Close()
	root, err := conn.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"subschemaSubentry"}, nil))
	if err != nil || len(root.Entries) == 0 {
		return false, false, err
	}
	sub := root.Entries[0].GetAttributeValue("subschemaSubentry")
	if sub == "" {
		sub = "cn=schema"
	}
	res, err := conn.Search(ldap.NewSearchRequest(sub, ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"objectClasses"}, nil))
	if err != nil {
		return false, false, err
	}
	for _, e := range res.Entries {
		for _, oc := range e.GetAttributeValues("objectClasses") {
			if strings.Contains(strings.ToLower(oc), "name 'inetmailuser'") {
				schema = true
			}
		}
	}
	_, err = conn.Search(ldap.NewSearchRequest("o=pab", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	pab = err == nil
	return schema, pab, nil
}
