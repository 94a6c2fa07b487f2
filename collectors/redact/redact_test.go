package redact

import (
	"strings"
	"testing"
)

func TestCmdline(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"plain", []string{"/opt/bin/stored", "-d"}, "/opt/bin/stored -d"},
		{"empty", nil, ""},
		{"w separate", []string{"ldapsearch", "-D", "cn=Directory Manager", "-w", "s3cret", "-b", "o=siroe.com"},
			"ldapsearch -D cn=Directory Manager -w *** -b o=siroe.com"},
		{"w attached", []string{"db2ldif", "-ws3cret"}, "db2ldif -w***"},
		{"w last", []string{"ldapmodify", "-w"}, "ldapmodify -w"},
		{"j file kept", []string{"ldapsearch", "-j", "/tmp/pw.txt"}, "ldapsearch -j /tmp/pw.txt"},
		{"y file kept", []string{"ldapsearch", "-y", "/tmp/pw.txt"}, "ldapsearch -y /tmp/pw.txt"},
		{"password-file kept", []string{"msguard", "--bind-password-file", "/etc/pw"}, "msguard --bind-password-file /etc/pw"},
		{"long password eq", []string{"tool", "--password=hunter2"}, "tool --password=***"},
		{"long password next", []string{"tool", "--password", "hunter2", "-v"}, "tool --password *** -v"},
		{"passwd key", []string{"setup", "passwd=abc"}, "setup passwd=***"},
		{"pwd key case", []string{"setup", "ConfigDirectoryAdminPwd=abc"}, "setup ConfigDirectoryAdminPwd=***"},
		{"bindcred", []string{"configutil", "local.ugldapbindcred=abc"}, "configutil local.ugldapbindcred=***"},
		{"password key", []string{"x", "-Dpassword=abc"}, "x -Dpassword=***"},
		{"url userinfo", []string{"fetch", "ldap://admin:pw@mail.siroe.com:389/o=pab"}, "fetch ldap://admin:***@mail.siroe.com:389/o=pab"},
		{"url user only", []string{"fetch", "http://admin@host/"}, "fetch http://admin@host/"},
		{"other eq kept", []string{"x", "mode=fast"}, "x mode=fast"},
		{"ns-httpd", []string{"ns-httpd", "-d", "/usr/iplanet/server5/admin-serv/config"}, "ns-httpd -d /usr/iplanet/server5/admin-serv/config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Cmdline(tt.args)
			if got != tt.want {
				t.Errorf("Cmdline(%q) = %q, want %q", tt.args, got, tt.want)
			}
			for _, secret := range []string{"s3cret", "hunter2", "abc", ":pw@"} {
				if strings.Contains(got, secret) {
					t.Errorf("Cmdline(%q) = %q leaks %q", tt.args, got, secret)
				}
			}
		})
	}
}

func TestArgsDoesNotModifyInput(t *testing.T) {
	in := []string{"x", "-w", "pw"}
	_ = Args(in)
	if in[2] != "pw" {
		t.Fatalf("Args modified its input: %q", in)
	}
}
