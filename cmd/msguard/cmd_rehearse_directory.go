package main

import (
	"context"
	"net"
	"strings"

	"github.com/msguard/msguard/collectors"
	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/internal/exitcode"
	"github.com/msguard/msguard/internal/ldapdial"
	"github.com/msguard/msguard/rehearse"
	"github.com/msguard/msguard/remediate/ldapexport"
)

// remoteDirectory is the URL of the user directory when it is on another
// host ("" when it is on this one, or unknown: the twin's gates say so).
// The twin reaches no other host: rehearse serves a scratch copy of that
// directory in its place. Refused (exit 2): a directory over TLS (the
// scratch server cannot hold production's certificate), and a
// configuration directory on yet another host.
func (a *app) remoteDirectory(s *facts.Snapshot) (string, error) {
	if s.LDAP == nil || s.LDAP.URL == "" {
		return "", nil
	}
	user, err := ldapdial.ParseURL(s.LDAP.URL)
	if err != nil || user.Network != "tcp" {
		return "", nil
	}
	host, _, _ := net.SplitHostPort(user.Address)
	if isLocalHost(host) {
		return "", nil
	}
	if user.Scheme != "ldap" || a.common.ldapStartTLS {
		return "", exitcode.Usagef("the user directory %s is on another host and reached over TLS: the twin's scratch copy of it speaks plain LDAP only (it cannot hold the directory's certificate); rehearse such a host only with the directory reached over ldap://; nothing was touched", s.LDAP.URL)
	}
	if s.Install != nil && s.Install.InstallInf != nil {
		if cfg := s.Install.InstallInf["General"]["ConfigDirectoryLdapURL"]; cfg != "" {
			if c, err := ldapdial.ParseURL(cfg); err == nil && c.Network == "tcp" && c.Address != user.Address {
				if h, _, _ := net.SplitHostPort(c.Address); !isLocalHost(h) {
					return "", exitcode.Usagef("the configuration directory %s is on another host than the user directory %s: rehearse serves a scratch copy of one directory server only; nothing was touched", cfg, s.LDAP.URL)
				}
			}
		}
	}
	return s.LDAP.URL, nil
}

// exportDirectory exports production's directory at url, read-only, into
// scratch for the twin's scratch server, binding as remediate does (the
// password from the same file or environment). Any failure is one line,
// exit 2, nothing touched.
func (a *app) exportDirectory(ctx context.Context, s *facts.Snapshot, copts collectors.Options, url, scratch string) (*rehearse.Directory, error) {
	pw, err := copts.BindPassword()
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	c := a.common
	bindDN := c.bindDN
	if s.LDAP.BindDN != "" {
		bindDN = s.LDAP.BindDN
	}
	userSuffix := s.LDAP.UserSuffix
	if userSuffix == "" {
		userSuffix = "o=siroe.com"
	}
	conn := ldapexport.Conn{URL: url, BindDN: bindDN, Password: strings.TrimRight(pw, "\r\n"), Timeout: c.timeout,
		CA: c.ldapCA, InsecureSkipVerify: c.insecureSkipVerify}
	d, err := rehearse.ExportDirectory(ctx, conn, userSuffix, scratch)
	if err != nil {
		return nil, exitcode.Wrap(exitcode.Usage, err)
	}
	return d, nil
}

// isLocalHost reports whether host names this machine: a loopback or
// local address, or a name that resolves to one.
func isLocalHost(host string) bool {
	addrs := []string{host}
	if net.ParseIP(host) == nil {
		resolved, err := net.LookupHost(host)
		if err != nil {
			return false
		}
		addrs = resolved
	}
	local := map[string]bool{}
	if ifs, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifs {
			if ipn, ok := a.(*net.IPNet); ok {
				local[ipn.IP.String()] = true
			}
		}
	}
	for _, a := range addrs {
		ip := net.ParseIP(a)
		if ip == nil || !(ip.IsLoopback() || local[ip.String()]) {
			return false
		}
	}
	return true
}
