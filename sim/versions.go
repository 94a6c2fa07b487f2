package sim

import "strings"

// MsgBanners is the build string of each Messaging Server release, as
// `imsimta version` and the greetings print it.
var MsgBanners = map[string]string{
	"5.0": "iPlanet Messaging Server 5.0 (built Mar 10 2000)",
	"5.1": "iPlanet Messaging Server 5.1 (built May  7 2001)",
	"5.2": "iPlanet Messaging Server 5.2 (built Feb 21 2002)",
}

// MsgBaseVersion strips a HotFix suffix: "5.2 HotFix 1.02" → "5.2".
func MsgBaseVersion(v string) string {
	if i := strings.Index(v, " "); i > 0 {
		return v[:i]
	}
	return v
}

// MsgBanner is the product string of a version, hotfix included:
// "5.2 HotFix 1.02" → "iPlanet Messaging Server 5.2 HotFix 1.02 (built Sep 16 2002)".
func MsgBanner(v string) string {
	base := MsgBaseVersion(v)
	b, ok := MsgBanners[base]
	if !ok {
		return ""
	}
	if hf := strings.TrimSpace(strings.TrimPrefix(v, base)); hf != "" {
		return "iPlanet Messaging Server " + base + " " + hf + " (built Sep 16 2002)"
	}
	return b
}

// DSVendorLines is the second line of `ns-slapd -v` per Directory Server version.
var DSVendorLines = map[string]string{
	"4.13": "Netscape-Directory/4.13 B01.044.2317",
	"4.16": "Netscape-Directory/4.16 B02.060.1530",
}

// WebServerBanners is `ns-httpd -v` and the HTTP Server header per version.
var WebServerBanners = map[string]string{
	"4.1":    "Netscape-Enterprise/4.1SP9",
	"6.0SP1": "iPlanet-WebServer-Enterprise/6.0SP1",
	"6.0SP2": "iPlanet-WebServer-Enterprise/6.0SP2",
}

// AdminServerBanner is the Administration Server's `ns-httpd -v`.
const AdminServerBanner = "Netscape-Administrator/5.2"
