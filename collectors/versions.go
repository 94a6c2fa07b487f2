package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/parse"
)

// probeTimeout bounds each version probe (a command run, a greeting
// read, an HTTP request) within the collector's own deadline.
const probeTimeout = 10 * time.Second

// maxRaw bounds the raw text a source records.
const maxRaw = 512

// collectVersions reads every version source of the Messaging Server, the
// Directory Server, the Web Server and the Delegated Administrator, and
// records what each said and whether they agree. A source that cannot be
// read (a daemon that is not running, a file that is missing) carries an
// Error; it does not fail the collector. The directory's own answers over
// LDAP (cn=monitor, rootDSE) are recorded by the ldap collector in its own
// facts, not here.
func collectVersions(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	v := &facts.Versions{}
	v.Messaging = messagingVersion(ctx, t)
	v.Directory = directoryVersion(ctx, t)
	v.WebServer = webServerVersion(ctx, t)
	v.DelegatedAdmin = delegatedAdminVersion(t)
	s.Versions = v
	return nil, ctx.Err()
}

// messagingVersion reads `imsimta version` and the SMTP and IMAP greetings.
func messagingVersion(ctx context.Context, t *Target) facts.ProductVersion {
	var srcs []facts.VersionSource
	noInst := func(name string) facts.VersionSource {
		return facts.VersionSource{Source: name, Error: "no messaging instance"}
	}
	if t.InstDir == "" {
		srcs = append(srcs, noInst("imsimta version"), noInst("smtp greeting"), noInst("imap greeting"))
		return settle(srcs, false)
	}

	src := facts.VersionSource{Source: "imsimta version"}
	out, err := runProbe(ctx, t.host, path.Join(t.InstDir, "imsimta"), "version")
	if line := firstLine(out); line != "" {
		msgDetail(&src, line)
	} else if err != nil {
		src.Error = err.Error()
	} else {
		src.Error = "imsimta version printed nothing"
	}
	srcs = append(srcs, src)

	// Greetings: ports from dispatcher.cnf and msg.conf (iMS defaults
	// when unset).
	smtp := facts.VersionSource{Source: "smtp greeting"}
	if host, port, err := smtpAddress(t); err != nil {
		smtp.Error = err.Error()
	} else {
		greet(ctx, t.host, &smtp, host, port, "QUIT\r\n")
	}
	imap := facts.VersionSource{Source: "imap greeting"}
	if host, port, err := imapAddress(t); err != nil {
		imap.Error = err.Error()
	} else {
		greet(ctx, t.host, &imap, host, port, "a1 LOGOUT\r\n")
	}
	srcs = append(srcs, smtp, imap)
	return settle(srcs, true)
}

// msgDetail fills a source from a Messaging Server banner.
func msgDetail(src *facts.VersionSource, raw string) {
	src.Raw = clip(raw)
	mv, ok := parse.MsgBanner(raw)
	if !ok {
		src.Error = "no Messaging Server version in the output"
		return
	}
	src.Version = mv.Version
	src.Detail = nonEmpty(map[string]string{"hotfix": mv.HotFix, "patch": mv.Patch, "build": mv.Build})
}

// smtpAddress is the SMTP service address from dispatcher.cnf.
func smtpAddress(t *Target) (string, int, error) {
	f, err := t.host.ReadFile(path.Join(t.InstDir, "imta", "config", "dispatcher.cnf"))
	if err != nil {
		return "", 0, fmt.Errorf("no smtp port: %w", err)
	}
	secs, err := parse.Dispatcher(bytes.NewReader(f.Data))
	if err != nil && secs == nil {
		return "", 0, fmt.Errorf("no smtp port: parse dispatcher.cnf: %w", err)
	}
	var smtp map[string]string
	for name, kv := range secs {
		if strings.EqualFold(name, "SERVICE=SMTP") {
			smtp = kv
		}
	}
	port, ok := firstPort(smtp["PORT"])
	if !ok {
		port = 25
	}
	addr := smtp["INTERFACE_ADDRESS"]
	if addr == "" {
		addr = secs[""]["INTERFACE_ADDRESS"]
	}
	return probeHost(addr), port, nil
}

// imapAddress is the IMAP service address from msg.conf.
func imapAddress(t *Target) (string, int, error) {
	f, err := t.host.ReadFile(path.Join(t.InstDir, "config", "msg.conf"))
	if err != nil {
		return "", 0, fmt.Errorf("no imap port: %w", err)
	}
	conf, err := parse.MsgConf(bytes.NewReader(f.Data))
	if err != nil && len(conf) == 0 {
		return "", 0, fmt.Errorf("no imap port: parse msg.conf: %w", err)
	}
	port, ok := firstPort(conf["service.imap.port"])
	if !ok {
		port = 143
	}
	return probeHost(conf["service.listenaddr"]), port, nil
}

// probeHost is the address to connect to for a service configured to
// listen on addr: that address when it is a specific IP, else loopback.
func probeHost(addr string) string {
	ip := net.ParseIP(strings.TrimSpace(addr))
	if ip == nil || ip.IsUnspecified() {
		return "127.0.0.1"
	}
	return ip.String()
}

// greet reads the greeting line of host:port into src and says goodbye
// with bye. A refused connection means the service is not running.
func greet(ctx context.Context, h Host, src *facts.VersionSource, host string, port int, bye string) {
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	src.Detail = map[string]string{"address": addr}
	raw, err := h.Greet(ctx, addr, bye)
	if err != nil {
		src.Error = err.Error()
		return
	}
	msgDetail(src, raw)
	src.Detail = mergeDetail(src.Detail, map[string]string{"address": addr})
}

// directoryVersion reads `ns-slapd -v` and setup/slapd/slapd.inf.
func directoryVersion(ctx context.Context, t *Target) facts.ProductVersion {
	bin := path.Join(t.Root, "bin", "slapd", "server", "ns-slapd")
	src := facts.VersionSource{Source: "ns-slapd -v"}
	out, err := runProbe(ctx, t.host, bin, "-v")
	lines := nonEmptyLines(out)
	found := false
	for i, line := range lines {
		dv, ok := parse.DSVersionLine(line)
		if !ok {
			continue
		}
		found = true
		src.Raw, src.Version, src.Foreign = clip(line), dv.Version, dv.Foreign
		d := map[string]string{"vendor": dv.Vendor, "build": dv.Build}
		if i > 0 {
			d["vendor_line"] = clip(lines[i-1])
		}
		src.Detail = nonEmpty(d)
		break
	}
	switch {
	case found:
	case err != nil:
		src.Error = err.Error()
	default:
		src.Raw = clip(strings.Join(lines, " / "))
		src.Error = "no Directory Server version in the output"
	}

	inf := facts.VersionSource{Source: "slapd.inf"}
	infFile := path.Join(t.Root, "setup", "slapd", "slapd.inf")
	if m, err := readINF(t.host, infFile); err != nil {
		inf.Error = err.Error()
	} else if ver := infValue(m, "slapd", "Version"); ver == "" {
		inf.Error = "slapd.inf has no [slapd] Version"
	} else {
		inf.Raw, inf.Version = clip("Version= "+ver), ver
		inf.Detail = nonEmpty(map[string]string{
			"build":  infValue(m, "slapd", "BuildNumber"),
			"vendor": infValue(m, "slapd", "Vendor"),
		})
	}
	binKind := t.host.Kind(bin)
	return settle([]facts.VersionSource{src, inf}, (binKind != PathMissing && binKind != PathUnknown) || len(t.SlapdIDs) > 0)
}

// webServerVersion reads `ns-httpd -v` and the Server header of every
// running https-* instance.
func webServerVersion(ctx context.Context, t *Target) facts.ProductVersion {
	if t.WSRoot == "" {
		return settle([]facts.VersionSource{
			{Source: "ns-httpd -v", Error: "no Web Server root (no https-admserv in the server root)"},
		}, false)
	}
	src := facts.VersionSource{Source: "ns-httpd -v"}
	out, err := runProbe(ctx, t.host, path.Join(t.WSRoot, "bin", "https", "bin", "ns-httpd"), "-v")
	if wv, ok := parse.WebServerBanner(out); ok {
		src.Raw, src.Version = clip(bannerLine(out, wv.Product)), wv.Version
		src.Detail = map[string]string{"product": wv.Product}
	} else if err != nil {
		src.Error = err.Error()
	} else {
		src.Raw = clip(strings.Join(nonEmptyLines(out), " / "))
		src.Error = "no Web Server version in the output"
	}
	srcs := []facts.VersionSource{src}
	for _, inst := range subdirs(t.host, t.WSRoot, "https-") {
		srcs = append(srcs, serverHeader(ctx, t.host, t.WSRoot, inst))
	}
	return settle(srcs, true)
}

// serverHeader asks a Web Server instance (its magnus.conf Port) for its
// Server header.
func serverHeader(ctx context.Context, h Host, wsroot, inst string) facts.VersionSource {
	src := facts.VersionSource{Source: "http Server header", Detail: map[string]string{"instance": inst}}
	f, err := h.ReadFile(path.Join(wsroot, inst, "config", "magnus.conf"))
	if err != nil {
		src.Error = fmt.Sprintf("no port: %v", err)
		return src
	}
	conf, _ := parse.Magnus(bytes.NewReader(f.Data))
	port, ok := firstPort(conf["Port"])
	if !ok {
		src.Error = "no port: magnus.conf has no Port"
		return src
	}
	addr := net.JoinHostPort(probeHost(conf["Address"]), strconv.Itoa(port))
	src.Detail["address"] = addr
	hdr, err := h.ServerHeader(ctx, addr)
	switch {
	case errors.Is(err, ErrNotGathered):
		return facts.VersionSource{Source: src.Source, Detail: map[string]string{"instance": inst}, Error: err.Error()}
	case err != nil:
		src.Error = err.Error()
		return src
	case hdr == "":
		src.Error = "no Server header"
		return src
	}
	src.Raw = clip(hdr)
	if wv, ok := parse.WebServerBanner(hdr); ok {
		src.Version = wv.Version
		src.Detail["product"] = wv.Product
	} else {
		src.Error = "no Web Server version in the Server header"
	}
	return src
}

// daVersionRe finds the Delegated Administrator version in a Web Server
// configuration file: the servlet's "version=" init argument, or the
// comment the installer writes.
var (
	daInitArgRe = regexp.MustCompile(`(?m)^\s*servlet\.[^=\s]*nda[^=\s]*\.initArgs\s*[=:].*?\bversion=(\d+(?:\.\d+)*)`)
	daCommentRe = regexp.MustCompile(`(?mi)^\s*[#!].*Delegated Administrator\s+(\d+(?:\.\d+)+)`)
)

// delegatedAdminVersion reads setup/nda/nda.inf, the servlets.properties
// of each Web Server instance, and the *.nda copies that an uninstall
// leaves behind (recorded as Stale: they describe the removed copy).
func delegatedAdminVersion(t *Target) facts.ProductVersion {
	inf := facts.VersionSource{Source: "nda.inf"}
	m, err := readINF(t.host, path.Join(t.Root, "setup", "nda", "nda.inf"))
	installed := err == nil
	switch {
	case err != nil:
		inf.Error = err.Error()
	case infValue(m, "nda", "Version") == "":
		inf.Error = "nda.inf has no [nda] Version"
	default:
		ver := infValue(m, "nda", "Version")
		inf.Raw, inf.Version = clip("Version= "+ver), ver
		inf.Detail = nonEmpty(map[string]string{"vendor": infValue(m, "nda", "Vendor")})
	}
	srcs := []facts.VersionSource{inf}
	if t.WSRoot == "" {
		return settle(srcs, installed)
	}
	for _, inst := range subdirs(t.host, t.WSRoot, "https-") {
		dir := path.Join(t.WSRoot, inst, "config")
		if src, ok := daFileSource(t.host, "servlets.properties", path.Join(dir, "servlets.properties"), t.WSRoot); ok {
			srcs = append(srcs, src)
			installed = true
		}
		entries, _ := t.host.ReadDir(dir)
		for _, e := range entries {
			if e.Dir || !strings.HasSuffix(e.Name, ".nda") {
				continue
			}
			if src, ok := daFileSource(t.host, "*.nda files", path.Join(dir, e.Name), t.WSRoot); ok {
				src.Stale = true
				srcs = append(srcs, src)
			}
		}
	}
	return settle(srcs, installed)
}

// daFileSource reads a Delegated Administrator version from a Web Server
// configuration file; false when the file does not exist or names no DA.
func daFileSource(h Host, name, file, wsroot string) (facts.VersionSource, bool) {
	f, err := h.ReadFile(file)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotGathered) {
		return facts.VersionSource{}, false
	}
	src := facts.VersionSource{Source: name, Detail: map[string]string{"file": relName(wsroot, file)}}
	if err != nil {
		src.Error = err.Error()
		return src, true
	}
	data := f.Data
	for _, re := range []*regexp.Regexp{daInitArgRe, daCommentRe} {
		if m := re.FindSubmatchIndex(data); m != nil {
			src.Version = string(data[m[2]:m[3]])
			src.Raw = clip("version=" + src.Version)
			return src, true
		}
	}
	if !bytes.Contains(bytes.ToLower(data), []byte("nda")) {
		return facts.VersionSource{}, false
	}
	src.Error = "no Delegated Administrator version in " + path.Base(file)
	return src, true
}

// settle decides a product's version from its sources: the version every
// voting source (not Foreign, not Stale) agrees on, "" when none has one
// or they disagree (Agreed false then).
func settle(srcs []facts.VersionSource, installed bool) facts.ProductVersion {
	pv := facts.ProductVersion{Sources: srcs, Agreed: true}
	for _, s := range srcs {
		if s.Version == "" || s.Foreign || s.Stale {
			continue
		}
		installed = true
		switch {
		case pv.Version == "":
			pv.Version = s.Version
		case parse.CompareVersions(pv.Version, s.Version) != 0:
			pv.Agreed = false
		}
	}
	if !pv.Agreed {
		pv.Version = ""
	}
	pv.Installed = installed
	return pv
}

// runProbe runs a version command on h with a bounded time and returns
// what it printed on stdout and stderr. A missing executable is reported
// as such.
func runProbe(ctx context.Context, h Host, exe string, args ...string) (string, error) {
	out, err := h.Run(ctx, Command{Exe: exe, Args: args, Merge: true, Timeout: probeTimeout})
	switch {
	case errors.Is(err, ErrCommandNotFound):
		return "", fmt.Errorf("%s not found", exe)
	case err != nil:
		return out.Stdout, fmt.Errorf("run %w", err)
	case out.RC != 0:
		return out.Stdout, fmt.Errorf("run %s: exit status %d", Command{Exe: exe, Args: args}.Name(), out.RC)
	}
	return out.Stdout, nil
}

// limitedBuffer keeps the first 64 KiB written to it. The buffer is a
// field, not embedded, so that io.Copy cannot bypass Write by way of
// bytes.Buffer.ReadFrom.
type limitedBuffer struct{ buf bytes.Buffer }

func (b *limitedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if room := 64<<10 - b.buf.Len(); room > 0 {
		if len(p) > room {
			p = p[:room]
		}
		b.buf.Write(p)
	}
	return n, nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }

// readINF reads and parses an .inf file.
func readINF(h Host, file string) (map[string]map[string]string, error) {
	f, err := h.ReadFile(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%s not found", path.Base(file))
		}
		return nil, fmt.Errorf("open %s: %w", path.Base(file), err)
	}
	m, err := parse.INF(bytes.NewReader(f.Data))
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path.Base(file), err)
	}
	return m, nil
}

func nonEmptyLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

func firstLine(s string) string {
	if l := nonEmptyLines(s); len(l) > 0 {
		return l[0]
	}
	return ""
}

// bannerLine is the line of out that holds product.
func bannerLine(out, product string) string {
	for _, l := range nonEmptyLines(out) {
		if strings.Contains(l, product) {
			return l
		}
	}
	return firstLine(out)
}

func clip(s string) string {
	if len(s) > maxRaw {
		return s[:maxRaw]
	}
	return s
}

// nonEmpty drops empty values, and returns nil for an empty map.
func nonEmpty(m map[string]string) map[string]string {
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func mergeDetail(a, b map[string]string) map[string]string {
	if a == nil {
		a = map[string]string{}
	}
	for k, v := range b {
		a[k] = v
	}
	return a
}
