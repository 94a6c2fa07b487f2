package script

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
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
	// The script read the directory with the password file it was given:
	// its searches are the bound ones, and the ldap collector binds.
	switch m.ldapMeta["password"] {
	case "file":
		opts.BindPassword = func() (string, error) { return "", nil }
	case "unreadable":
		opts.BindPassword = func() (string, error) {
			return "", errors.New("the file named by MSGUARD_BIND_PASSWORD_FILE is not readable")
		}
	}
	s, err := collectors.CollectFrom(ctx, bundleHost{m}, opts, bundleAdvice)
	if err != nil {
		return nil, err
	}
	s.CollectedAt = m.now
	s.Root = strings.HasPrefix(m.meta["id"], "uid=0(")
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
