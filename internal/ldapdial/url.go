package ldapdial

import (
	"cmp"
	"fmt"
	"net"
	"net/url"
	"strings"
)

// Addr is where an LDAP URL points.
type Addr struct {
	Scheme  string // "ldap", "ldaps" or "ldapi"
	Network string // "tcp", or "unix" for ldapi
	Address string // host:port, or the ldapi socket's path
	Host    string // the name the server's certificate must match ("" for ldapi)
}

// DefaultLDAPI is the socket of an ldapi:// URL that names none (slapd's).
const DefaultLDAPI = "/var/run/slapd/ldapi"

// ParseURL reads an LDAP URL as go-ldap and the OpenLDAP tools do:
// ldap:// and ldaps:// (default ports 389 and 636) or ldapi:// with the
// socket path percent-encoded as the host. Anything after the host (the
// search base of a URL like ldap://ds:389/o=siroe.com) is not looked at.
func ParseURL(raw string) (Addr, error) {
	if rest, ok := strings.CutPrefix(raw, "ldapi://"); ok {
		host, path, _ := strings.Cut(rest, "/")
		host, err := url.PathUnescape(host)
		if err != nil {
			return Addr{}, err
		}
		if host == "" && path != "" {
			host = "/" + path
		}
		host = cmp.Or(host, DefaultLDAPI)
		return Addr{Scheme: "ldapi", Network: "unix", Address: host}, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Addr{}, err
	}
	port := u.Port()
	switch u.Scheme {
	case "ldap":
		port = cmp.Or(port, "389")
	case "ldaps":
		port = cmp.Or(port, "636")
	default:
		return Addr{}, fmt.Errorf("unknown scheme %q (want ldap, ldaps or ldapi)", u.Scheme)
	}
	if u.Hostname() == "" {
		return Addr{}, fmt.Errorf("no host in %q", raw)
	}
	return Addr{Scheme: u.Scheme, Network: "tcp", Address: net.JoinHostPort(u.Hostname(), port), Host: u.Hostname()}, nil
}
