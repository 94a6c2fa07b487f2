package ldapdial

import (
	"strings"
	"testing"
)

func TestParseURL(t *testing.T) {
	cases := []struct{ url, network, addr, host, err string }{
		{"ldap://127.0.0.1:3389", "tcp", "127.0.0.1:3389", "127.0.0.1", ""},
		{"ldap://ds.siroe.com", "tcp", "ds.siroe.com:389", "ds.siroe.com", ""},
		{"ldaps://ds.siroe.com", "tcp", "ds.siroe.com:636", "ds.siroe.com", ""},
		{"LDAPS://ds.siroe.com:1636/o=siroe.com", "tcp", "ds.siroe.com:1636", "ds.siroe.com", ""},
		{"ldap://[::1]:389", "tcp", "[::1]:389", "::1", ""},
		{"ldapi://%2Fvar%2Frun%2Fslapd%2Fldapi", "unix", "/var/run/slapd/ldapi", "", ""},
		{"ldapi:///run/ldapi", "unix", "/run/ldapi", "", ""},
		{"ldapi://", "unix", "/var/run/slapd/ldapi", "", ""},
		{"http://ds.siroe.com", "", "", "", "unknown scheme"},
		{"ldap:///o=siroe.com", "", "", "", "no host"},
	}
	for _, tc := range cases {
		a, err := ParseURL(tc.url)
		if a.Network != tc.network || a.Address != tc.addr || a.Host != tc.host || (tc.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParseURL(%s) = %+v, %v; want %s %s %q %s", tc.url, a, err, tc.network, tc.addr, tc.host, tc.err)
		}
	}
}
