package parse

import "testing"

func TestMsgBanner(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want MsgVersion
	}{
		{"iPlanet Messaging Server 5.1 (built May  7 2001)", true, MsgVersion{Version: "5.1", Build: "May 7 2001"}},
		{"iPlanet Messaging Server 5.2 HotFix 1.02 (built Sep 16 2002)", true, MsgVersion{Version: "5.2", HotFix: "1.02", Build: "Sep 16 2002"}},
		{"iPlanet Messaging Server 5.2 Patch 2 (built Oct  1 2002)", true, MsgVersion{Version: "5.2", Patch: "2", Build: "Oct 1 2002"}},
		{"iPlanet Messaging Server 5.2 HotFix 1.14 Patch 3", true, MsgVersion{Version: "5.2", HotFix: "1.14", Patch: "3"}},
		{"220 mail.siroe.com -- Server ESMTP (iPlanet Messaging Server 5.1 (built May  7 2001))\r\n", true, MsgVersion{Version: "5.1", Build: "May 7 2001"}},
		{"* OK mail.siroe.com IMAP4 service (iPlanet Messaging Server 5.2 HotFix 1.02 (built Sep 16 2002))", true, MsgVersion{Version: "5.2", HotFix: "1.02", Build: "Sep 16 2002"}},
		{"Sun Java(tm) System Messaging Server 6.2-3.04 (built Jul 15 2005)", true, MsgVersion{Version: "6.2", Build: ""}},
		{"220 mail.example.com ESMTP Postfix", false, MsgVersion{}},
		{"iPlanet Messaging Server", false, MsgVersion{}},
		{"", false, MsgVersion{}},
	}
	for _, tt := range tests {
		got, ok := MsgBanner(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("MsgBanner(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestDSVersionLine(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want DSVersion
	}{
		{"Netscape-Directory/4.13 B01.044.2317", true, DSVersion{Vendor: "Netscape", Version: "4.13", Build: "B01.044.2317"}},
		{"Netscape-Directory/4.16 B02.060.1530\n", true, DSVersion{Vendor: "Netscape", Version: "4.16", Build: "B02.060.1530"}},
		{"iPlanet-Directory/5.1 B2002.123.0414", true, DSVersion{Vendor: "iPlanet", Version: "5.1", Build: "B2002.123.0414"}},
		{"Sun-ONE-Directory/5.2", true, DSVersion{Vendor: "Sun-ONE", Version: "5.2"}},
		{"389-Directory/2.3.1 B2023.123.0000", true, DSVersion{Vendor: "389", Version: "2.3.1", Build: "B2023.123.0000", Foreign: true}},
		{"Netscape Communications Corp.", false, DSVersion{}},
		{"Netscape-Directory/", false, DSVersion{}},
	}
	for _, tt := range tests {
		got, ok := DSVersionLine(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("DSVersionLine(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWebServerBanner(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want WebVersion
	}{
		{"iPlanet-WebServer-Enterprise/6.0SP1", true, WebVersion{"iPlanet-WebServer-Enterprise", "6.0SP1"}},
		{"iPlanet-WebServer-Enterprise/6.0SP2 B03/11/2002 22:38", true, WebVersion{"iPlanet-WebServer-Enterprise", "6.0SP2"}},
		{"Netscape-Enterprise/4.1SP9", true, WebVersion{"Netscape-Enterprise", "4.1SP9"}},
		{"Server: Netscape-Enterprise/4.1 SP 9\r", true, WebVersion{"Netscape-Enterprise", "4.1SP9"}},
		{"Sun-ONE-Web-Server/6.1", true, WebVersion{"Sun-ONE-Web-Server", "6.1"}},
		{"Netscape-Administrator/5.2\niPlanet-WebServer-Enterprise/6.0", true, WebVersion{"iPlanet-WebServer-Enterprise", "6.0"}},
		{"Netscape-Administrator/5.2", false, WebVersion{}},
		{"Apache", false, WebVersion{}},
	}
	for _, tt := range tests {
		got, ok := WebServerBanner(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("WebServerBanner(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestCompareVersions(t *testing.T) {
	tests := []struct {
		a, b string
		want int
	}{
		{"4.13", "4.16", -1},
		{"4.16", "4.13", 1},
		{"6.0SP1", "6.0SP2", -1},
		{"6.0SP2", "6.0sp2", 0},
		{"5.2", "5.10", -1},
		{"5.1", "5.2", -1},
		{"5.2", "5.2", 0},
		{"6.0", "6.0SP1", -1},
		{"5.2", "5.2.1", -1},
		{"4.1SP9", "6.0SP2", -1},
		{"6.0SP2", "6.0.1", -1},
		{"1.02", "1.2", 0},
		{"10", "9", 1},
		{"", "1", -1},
		{"", "", 0},
		{"99999999999999999999999", "99999999999999999999998", 1},
	}
	for _, tt := range tests {
		if got := CompareVersions(tt.a, tt.b); got != tt.want {
			t.Errorf("CompareVersions(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.want)
		}
	}
}
