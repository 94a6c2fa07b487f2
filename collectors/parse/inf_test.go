package parse

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestINF(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     map[string]map[string]string
		wantLine int // 0: no error
	}{
		{
			name: "install.inf",
			in: "# written by setup\n\n[General]\nFullMachineName= mail.siroe.com\nServerRoot=/usr/iplanet/server5\n" +
				"ConfigDirectoryAdminPwd = s3cret\n; comment\n[slapd]\nServerPort= 389\n",
			want: map[string]map[string]string{
				"General": {"FullMachineName": "mail.siroe.com", "ServerRoot": "/usr/iplanet/server5", "ConfigDirectoryAdminPwd": "s3cret"},
				"slapd":   {"ServerPort": "389"},
			},
		},
		{
			name: "crlf, bom, keys before a section, duplicate",
			in:   "\ufeffTop= 1\r\n[ nda ]\r\nVersion= 1.1\r\nVersion= 1.2\r\n",
			want: map[string]map[string]string{"": {"Top": "1"}, "nda": {"Version": "1.2"}},
		},
		{
			name: "value with = and spaces, empty value, empty section",
			in:   "[a]\nURL= ldap://h:389/o=NetscapeRoot\nEmpty=\n[b]\n",
			want: map[string]map[string]string{"a": {"URL": "ldap://h:389/o=NetscapeRoot", "Empty": ""}, "b": {}},
		},
		{
			name:     "line without =",
			in:       "[General]\nFullMachineName= a\nthis is broken\nAfter= b\n",
			want:     map[string]map[string]string{"General": {"FullMachineName": "a", "After": "b"}},
			wantLine: 3,
		},
		{
			name:     "unterminated section",
			in:       "[General\nKey= v\n",
			want:     map[string]map[string]string{"": {"Key": "v"}},
			wantLine: 1,
		},
		{
			name:     "empty key",
			in:       "[s]\n= v\n",
			want:     map[string]map[string]string{"s": {}},
			wantLine: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := INF(strings.NewReader(tt.in))
			checkLineErr(t, err, tt.wantLine)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("INF() = %v; want %v", got, tt.want)
			}
		})
	}
}

// checkLineErr fails t unless err is a *LineError for line want (or nil
// when want is 0).
func checkLineErr(t *testing.T, err error, want int) {
	t.Helper()
	if want == 0 {
		if err != nil {
			t.Fatalf("error = %v; want none", err)
		}
		return
	}
	var le *LineError
	if !errors.As(err, &le) {
		t.Fatalf("error = %v; want a *LineError", err)
	}
	if le.Line != want {
		t.Errorf("error line = %d; want %d", le.Line, want)
	}
	if !strings.Contains(err.Error(), "line ") {
		t.Errorf("error %q does not name the line", err)
	}
}

// errReader fails after its data.
type errReader struct{ data string }

func (e *errReader) Read(p []byte) (int, error) {
	if e.data == "" {
		return 0, errors.New("disk on fire")
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

func TestReadErrors(t *testing.T) {
	parsers := map[string]func() error{
		"INF":           func() error { _, err := INF(&errReader{"[a]\n"}); return err },
		"MsgConf":       func() error { _, err := MsgConf(&errReader{"a=b\n"}); return err },
		"KeyColonValue": func() error { _, err := KeyColonValue(&errReader{"a: b\n"}); return err },
		"Magnus":        func() error { _, err := Magnus(&errReader{"Port 80\n"}); return err },
		"Properties":    func() error { _, err := Properties(&errReader{"a=b\n"}); return err },
		"IMTAChannels":  func() error { _, err := IMTAChannels(&errReader{"x\n"}); return err },
		"Dispatcher":    func() error { _, err := Dispatcher(&errReader{"A=1\n"}); return err },
	}
	for name, f := range parsers {
		if err := f(); err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("%s on a failing reader: error = %v; want the read error", name, err)
		}
	}
}

func TestIsSecretKey(t *testing.T) {
	tests := []struct {
		key  string
		want bool
	}{
		{"ConfigDirectoryAdminPwd", true},
		{"RootDNPwd", true},
		{"ServiceAdminPassword", true},
		{"ServerAdminPWD", true},
		{"local.service.pab.ldappasswd", true},
		{"local.ugldapbindcred", true},
		{"bindcred", true},
		{"nsslapd-rootpw_Password", true},
		{"Secret", true},
		{"siepid", true},
		{"pid", false},
		{"ssl.passphrase", true},
		{"userdn", false},
		{"ConfigDirectoryAdminID", false},
		{"FullMachineName", false},
		{"local.ugldapbinddn", false},
		{"service.imap.port", false},
		{"ldapurl", false},
		{"bindpw", true},
	}
	for _, tt := range tests {
		if got := IsSecretKey(tt.key); got != tt.want {
			t.Errorf("IsSecretKey(%q) = %v; want %v", tt.key, got, tt.want)
		}
	}
}

func TestIsSecretValue(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{"{SSHA}dGhpcyBpcyBub3QgYSByZWFsIGhhc2g=", true},
		{"{crypt}ab01FAX.bQRSU", true},
		{"{SHA256}abc", true},
		{"{}", false},
		{"{SSHA}", false},
		{"ldap://h/o=x", false},
		{"plain", false},
	}
	for _, tt := range tests {
		if got := IsSecretValue(tt.v); got != tt.want {
			t.Errorf("IsSecretValue(%q) = %v; want %v", tt.v, got, tt.want)
		}
	}
}

func TestRedactInline(t *testing.T) {
	tests := []struct{ in, want string }{
		{"ldapurl=ldap://h:389/o=siroe.com,version=1.1", "ldapurl=ldap://h:389/o=siroe.com,version=1.1"},
		{"ldapurl=ldap://h/o=x,password=s3cret,version=1.1", "ldapurl=ldap://h/o=x,password=X,version=1.1"},
		{"bindpwd = hunter2; user=a", "bindpwd = X; user=a"},
		{"-D cn=dm -w x", "-D cn=dm -w x"},
		{"password=", "password="},
		// A pair inside another pair's value or a URL's query, a URL's
		// user information, a quoted value with a space, bindpw.
		{"ldap://h/o=siroe.com?password=s3cret", "ldap://h/o=siroe.com?password=X"},
		{"url=ldap://h/o=x?bindpw=s3cret&x=1", "url=ldap://h/o=x?bindpw=X&x=1"},
		{"ldap://admin:s3cret@h:389/o=NetscapeRoot", "ldap://admin:X@h:389/o=NetscapeRoot"},
		{"ldapurl=ldap://cn=admin:s3cret@h/o=x,version=1.1", "ldapurl=ldap://cn=admin:X@h/o=x,version=1.1"},
		{`fn="ldap-auth" binddn="cn=dm" bindpw="s3 cret"`, `fn="ldap-auth" binddn="cn=dm" bindpw=X`},
		{"x=password=s3cret", "x=password=X"},
		{"http://admin@h/", "http://admin@h/"},
		{"a=b=c", "a=b=c"},
	}
	for _, tt := range tests {
		if got := RedactInline(tt.in, "X"); got != tt.want {
			t.Errorf("RedactInline(%q) = %q; want %q", tt.in, got, tt.want)
		}
	}
}
