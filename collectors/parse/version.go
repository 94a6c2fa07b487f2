package parse

import (
	"regexp"
	"strings"
)

// MsgVersion is a Messaging Server version as its banner prints it.
type MsgVersion struct {
	Version string // "5.1", "5.2"
	HotFix  string // "1.02" for "HotFix 1.02", else ""
	Patch   string // "2" for "Patch 2", else ""
	Build   string // "May 7 2001" (runs of spaces collapsed), else ""
}

var msgBannerRe = regexp.MustCompile(`(?i)Messaging Server\s+(\d+(?:\.\d+)+)((?:\s+(?:Hot\s*Fix|Patch)\s+[\w.-]+)*)\s*(?:\(\s*built\s+([^)]*)\))?`)
var msgLevelRe = regexp.MustCompile(`(?i)(Hot\s*Fix|Patch)\s+([\w.-]+)`)

// MsgBanner finds a Messaging Server version in s: the first line of
// `imsimta version` ("iPlanet Messaging Server 5.2 HotFix 1.02 (built Sep
// 16 2002)"), or an SMTP or IMAP greeting that embeds it. It reports false
// when s names no Messaging Server version.
func MsgBanner(s string) (MsgVersion, bool) {
	m := msgBannerRe.FindStringSubmatch(s)
	if m == nil {
		return MsgVersion{}, false
	}
	v := MsgVersion{Version: m[1], Build: strings.Join(strings.Fields(m[3]), " ")}
	for _, lvl := range msgLevelRe.FindAllStringSubmatch(m[2], -1) {
		if strings.EqualFold(lvl[1], "patch") {
			v.Patch = lvl[2]
		} else {
			v.HotFix = lvl[2]
		}
	}
	return v, true
}

// DSVersion is a Directory Server version line.
type DSVersion struct {
	Vendor  string // "Netscape", "iPlanet", "389"
	Version string // "4.13"
	Build   string // "B01.044.2317", else ""
	// Foreign is true when the vendor is not a Netscape/iPlanet/Sun
	// directory: e.g. a modern 389 test server standing in for one.
	Foreign bool
}

var dsLineRe = regexp.MustCompile(`([A-Za-z0-9][A-Za-z0-9.-]*?)-Directory/(\d+(?:\.\d+)+)(?:[ \t]+(\S+))?`)

// ourDSVendors are the vendors whose directory servers iPlanet Messaging
// Server 5.x shipped with or supported.
var ourDSVendors = []string{"netscape", "iplanet", "sun-one", "sun-java-system", "sun"}

// DSVersionLine parses a Directory Server version line such as
// "Netscape-Directory/4.13 B01.044.2317" (the second line of `ns-slapd
// -v`, or an LDAP vendorVersion). It reports false when s holds none.
func DSVersionLine(s string) (DSVersion, bool) {
	m := dsLineRe.FindStringSubmatch(s)
	if m == nil {
		return DSVersion{}, false
	}
	d := DSVersion{Vendor: m[1], Version: m[2], Build: m[3], Foreign: true}
	for _, v := range ourDSVendors {
		if strings.EqualFold(d.Vendor, v) {
			d.Foreign = false
		}
	}
	return d, true
}

// WebVersion is a Web Server product version.
type WebVersion struct {
	Product string // "iPlanet-WebServer-Enterprise", "Netscape-Enterprise"
	Version string // "6.0SP1", "4.1SP9", "6.0"
}

var webRe = regexp.MustCompile(`([A-Za-z][A-Za-z0-9-]*)/(\d+(?:\.\d+)*)(?:[ \t]*(?i:SP)[ \t]*(\d+))?`)

// WebServerBanner finds a Web Server version in s: `ns-httpd -v` output or
// an HTTP Server header, e.g. "iPlanet-WebServer-Enterprise/6.0SP1" →
// "6.0SP1". Products that are not a web server (the Administration
// Server's "Netscape-Administrator/5.2") are skipped. It reports false
// when s names no web server.
func WebServerBanner(s string) (WebVersion, bool) {
	for _, m := range webRe.FindAllStringSubmatch(s, -1) {
		p := strings.ToLower(m[1])
		if !strings.Contains(p, "enterprise") && !strings.Contains(p, "webserver") && !strings.Contains(p, "web-server") {
			continue
		}
		v := m[2]
		if m[3] != "" {
			v += "SP" + m[3]
		}
		return WebVersion{Product: m[1], Version: v}, true
	}
	return WebVersion{}, false
}

// CompareVersions compares two product versions and returns -1, 0 or +1.
// Versions are split into runs of digits and runs of letters; digit runs
// compare as numbers ("5.2" < "5.10", "4.13" < "4.16"), letter runs
// case-insensitively ("6.0SP1" < "6.0SP2"). A version that is a prefix of
// the other is older ("6.0" < "6.0SP1", "5.2" < "5.2.1"); where a number
// meets letters, the letters are older ("6.0SP2" < "6.0.1").
func CompareVersions(a, b string) int {
	ta, tb := versionTokens(a), versionTokens(b)
	for i := 0; i < len(ta) && i < len(tb); i++ {
		if c := compareToken(ta[i], tb[i]); c != 0 {
			return c
		}
	}
	switch {
	case len(ta) < len(tb):
		return -1
	case len(ta) > len(tb):
		return 1
	}
	return 0
}

func versionTokens(s string) []string {
	var out []string
	start := -1
	kind := 0 // 1 digits, 2 letters
	flush := func(i int) {
		if start >= 0 {
			out = append(out, s[start:i])
		}
		start, kind = -1, 0
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		k := 0
		switch {
		case '0' <= c && c <= '9':
			k = 1
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
			k = 2
		}
		if k != kind {
			flush(i)
			if k != 0 {
				start, kind = i, k
			}
		}
	}
	flush(len(s))
	return out
}

func isDigits(s string) bool { return s != "" && s[0] >= '0' && s[0] <= '9' }

func compareToken(a, b string) int {
	da, db := isDigits(a), isDigits(b)
	switch {
	case da && db:
		a, b = strings.TrimLeft(a, "0"), strings.TrimLeft(b, "0")
		if len(a) != len(b) {
			return sign(len(a) - len(b))
		}
		return strings.Compare(a, b)
	case da:
		return 1
	case db:
		return -1
	}
	return strings.Compare(strings.ToLower(a), strings.ToLower(b))
}

func sign(n int) int {
	switch {
	case n < 0:
		return -1
	case n > 0:
		return 1
	}
	return 0
}
