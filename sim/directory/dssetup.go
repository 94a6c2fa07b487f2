package directory

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/go-ldap/ldap/v3"
	"github.com/msguard/msguard/sim"
)

// MailObjectClass is the object class ims_dssetup.pl adds to the schema.
const MailObjectClass = "inetMailUser"

// mailSchema is the messaging schema of ims_dssetup (layout.md: object
// class inetMailUser and a few attribute types), as RFC 4512 descriptions.
var mailSchema = struct{ attributeTypes, objectClasses []string }{
	attributeTypes: []string{
		"( 1.3.6.1.4.1.99999.1.1 NAME 'mailUserStatus' DESC 'iPlanet Messaging Server 5 user status' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
		"( 1.3.6.1.4.1.99999.1.2 NAME 'mailAllowedServiceAccess' DESC 'iPlanet Messaging Server 5 service access' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
		"( 1.3.6.1.4.1.99999.1.3 NAME 'mailMsgQuota' DESC 'iPlanet Messaging Server 5 message quota' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )",
		"( 1.3.6.1.4.1.99999.1.4 NAME 'mailSMTPSubmitChannel' DESC 'iPlanet Messaging Server 5 submit channel' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )",
	},
	objectClasses: []string{
		"( 1.3.6.1.4.1.99999.2.1 NAME 'inetMailUser' DESC 'iPlanet Messaging Server 5 mail user' SUP top AUXILIARY MAY ( mail $ mailHost $ mailUserStatus $ mailAllowedServiceAccess $ mailMsgQuota $ mailSMTPSubmitChannel ) )",
		"( 1.3.6.1.4.1.99999.2.2 NAME 'inetMailGroup' DESC 'iPlanet Messaging Server 5 mail group' SUP top AUXILIARY MAY ( mail $ mailHost $ mailUserStatus ) )",
	},
}

// ApplyDSSetup does to slapd-<id> what ims_dssetup.pl does: it checks
// the Directory Manager password by binding, adds the messaging schema
// (inetMailUser) and indexes, and creates the o=pab entry if the
// instance serves o=pab and it is missing. It is idempotent. An
// OpenLDAP-backed instance is restarted to load the schema.
func ApplyDSSetup(ctx context.Context, st *sim.State, id, dmPassword string) error {
	in, err := instanceOf(st, id)
	if err != nil {
		return err
	}
	url := URL(st, id)
	if err := Bind(ctx, url, DirectoryManagerDN, dmPassword); err != nil {
		return fmt.Errorf("directory manager of slapd-%s: %w", id, err)
	}
	have, err := SchemaHasObjectClass(ctx, url, DirectoryManagerDN, dmPassword, MailObjectClass)
	if err != nil {
		return err
	}
	if !have {
		switch st.Scenario.DSBackend {
		case "389":
			err = mailSchema389(ctx, url, dmPassword)
		default:
			err = mailSchemaOpenLDAP(ctx, st, in)
		}
		if err != nil {
			return fmt.Errorf("add messaging schema to slapd-%s: %w", id, err)
		}
	}
	if in.serves(PABSuffix) {
		if err := ensurePAB(ctx, url, dmPassword); err != nil {
			return fmt.Errorf("create %s on slapd-%s: %w", PABSuffix, id, err)
		}
	}
	return nil
}

// mailSchemaOpenLDAP writes the schema file, includes it (and the user
// indexes) in slapd.conf, reindexes and restarts the instance.
func mailSchemaOpenLDAP(ctx context.Context, st *sim.State, in instance) error {
	var b strings.Builder
	b.WriteString("# iPlanet Messaging Server 5.2 schema, added by ims_dssetup.pl\n")
	for _, a := range mailSchema.attributeTypes {
		fmt.Fprintf(&b, "attributetype %s\n", a)
	}
	for _, o := range mailSchema.objectClasses {
		fmt.Fprintf(&b, "objectclass %s\n", o)
	}
	schemaPath := filepath.Join(in.Dir, "config", mailSchemaFile)
	if err := os.WriteFile(schemaPath, []byte(b.String()), 0o644); err != nil {
		return err
	}
	raw, err := os.ReadFile(in.conf())
	if err != nil {
		return err
	}
	conf := string(raw)
	include := fmt.Sprintf("include %q\n", schemaPath)
	reindex := false
	if !strings.Contains(conf, include) {
		misc := "include /etc/ldap/schema/misc.schema\n"
		if !strings.Contains(conf, misc) {
			return fmt.Errorf("%s has no %q line", in.conf(), strings.TrimSpace(misc))
		}
		conf = strings.Replace(conf, misc, misc+include, 1)
	}
	const idx = "index uid,mail,mailHost eq\n"
	if in.serves(UserSuffix) && !strings.Contains(conf, userIndexMarker+"\n"+idx) {
		conf = strings.Replace(conf, userIndexMarker+"\n", userIndexMarker+"\n"+idx, 1)
		reindex = true
	}
	if err := sim.WriteFileAtomic(in.conf(), []byte(conf), 0o600); err != nil {
		return err
	}
	if err := Stop(ctx, st, in.ID, io.Discard); err != nil {
		return err
	}
	if reindex {
		if err := runTool(ctx, slapindexBin, "-q", "-f", in.conf(), "-b", UserSuffix); err != nil {
			return err
		}
	}
	return Start(ctx, st, in.ID, io.Discard)
}

// ensurePAB adds the o=pab entry if it is missing.
func ensurePAB(ctx context.Context, url, dmPassword string) error {
	conn, err := Connect(ctx, url, DirectoryManagerDN, dmPassword)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Search(ldap.NewSearchRequest(PABSuffix, ldap.ScopeBaseObject, ldap.NeverDerefAliases,
		0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err == nil {
		return nil
	}
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultNoSuchObject) {
		return err
	}
	add := ldap.NewAddRequest(PABSuffix, nil)
	add.Attribute("objectClass", []string{"top", "organization"})
	add.Attribute("o", []string{"pab"})
	return conn.Add(add)
}
