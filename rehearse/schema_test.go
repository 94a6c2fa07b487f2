package rehearse

import (
	"strings"
	"testing"
)

func TestMissingSchema(t *testing.T) {
	known := knownSchema([]string{
		"attributetype ( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
		"attributetype ( 0.9.2342.19200300.100.1.3 NAME ( 'mail' 'rfc822Mailbox' ) EQUALITY caseIgnoreIA5Match SYNTAX 1.3.6.1.4.1.1466.115.121.1.26{256} )",
		"objectclass ( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
	})
	tests := []struct {
		name       string
		production []string
		want       []string // names, in order
		err        string
	}{
		{"known by name or OID are left out", []string{
			"attributetype ( 2.5.4.3 NAME 'cn' SUP name )",
			"attributetype ( 9.9.9 NAME 'commonName' )", // a known name under another OID
			"objectclass ( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
		}, nil, ""},
		{"attribute types before object classes, superiors first", []string{
			"objectclass ( 1.2.2 NAME 'inetMailUser' SUP mailBase AUXILIARY MAY ( mail $ mailUserStatus ) )",
			"objectclass ( 1.2.1 NAME 'mailBase' SUP top AUXILIARY )",
			"attributetype ( 1.1.2 NAME 'mailUserStatus' SUP mailBaseAttr )",
			"attributetype ( 1.1.1 NAME 'mailBaseAttr' DESC 'a (paren) and $ in a string' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 )",
		}, []string{"mailbaseattr", "mailuserstatus", "mailbase", "inetmailuser"}, ""},
		{"a cycle of superiors", []string{
			"objectclass ( 1.2.1 NAME 'a' SUP b )",
			"objectclass ( 1.2.2 NAME 'b' SUP a )",
		}, nil, "cycle"},
		{"not a description", []string{"attributetype mail"}, nil, "not an RFC 4512 description"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := missingSchema(tt.production, known)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, d := range got {
				names = append(names, schemaName(d))
			}
			if strings.Join(names, " ") != strings.Join(tt.want, " ") {
				t.Errorf("missing %v, want %v", names, tt.want)
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	defs := []schemaDef{{Kind: "attributetype", Names: []string{"mailuserstatus"}}, {Kind: "objectclass", Names: []string{"inetmailuser"}}}
	out := []byte("/s/directory/production.schema: line 2 objectclass: ObjectClass not found: \"mailBase\"\nslaptest: bad configuration file!\n")
	if err := schemaRefusal(out, defs, nil); !strings.HasPrefix(err.Error(), "objectclass inetmailuser (") {
		t.Errorf("schema refusal: %v", err)
	}
	out = []byte("5f0 mdb_id2entry_put: mdb_put failed\nslapadd: could not add entry dn=\"uid=x,ou=People,o=siroe.com\" (line=12): txn_aborted! MDB_MAP_FULL\n")
	if err := entryRefusal(out, nil); err.Error() != "uid=x,ou=People,o=siroe.com: txn_aborted! MDB_MAP_FULL" {
		t.Errorf("entry refusal: %v", err)
	}
}
