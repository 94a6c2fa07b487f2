package parse

import (
	"reflect"
	"strings"
	"testing"
)

func TestMsgConf(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     map[string]string
		wantLine int
	}{
		{
			name: "quoted and bare values, comments, duplicates",
			in: "! msg.conf\n!\n\nlocal.hostname = \"mail.siroe.com\"\nservice.imap.port = 143\n" +
				"  ! indented comment\nlocal.motd=\"Welcome  to  mail\"\nservice.imap.port = \"1143\"\r\n",
			want: map[string]string{"local.hostname": "mail.siroe.com", "service.imap.port": "1143", "local.motd": "Welcome  to  mail"},
		},
		{
			name: "escapes, invalid escapes, empty quotes, = in value",
			in:   "a = \"say \\\"hi\\\"\"\nb = \"C:\\dir\"\nc = \"\"\nd = x=y\n",
			want: map[string]string{"a": `say "hi"`, "b": `C:\dir`, "c": "", "d": "x=y"},
		},
		{
			name:     "unterminated quote",
			in:       "a = 1\nb = \"open\nc = 3\n",
			want:     map[string]string{"a": "1", "c": "3"},
			wantLine: 2,
		},
		{
			name:     "no equals",
			in:       "a = 1\n\njunk\n",
			want:     map[string]string{"a": "1"},
			wantLine: 3,
		},
		{
			name:     "empty key",
			in:       " = 1\n",
			want:     map[string]string{},
			wantLine: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MsgConf(strings.NewReader(tt.in))
			checkLineErr(t, err, tt.wantLine)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("MsgConf() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestKeyColonValue(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     map[string]string
		wantLine int
	}{
		{
			name: "adm.conf",
			in:   "# adm.conf\nldapurl: ldap://127.0.0.1:389/o=NetscapeRoot\nport: 5555\r\nsie: cn=a, o=NetscapeRoot\nport:5556\n",
			want: map[string]string{"ldapurl": "ldap://127.0.0.1:389/o=NetscapeRoot", "port": "5556", "sie": "cn=a, o=NetscapeRoot"},
		},
		{name: "no colon", in: "a: 1\nbroken\n", want: map[string]string{"a": "1"}, wantLine: 2},
		{name: "empty key", in: ": 1\n", want: map[string]string{}, wantLine: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := KeyColonValue(strings.NewReader(tt.in))
			checkLineErr(t, err, tt.wantLine)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("KeyColonValue() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestMagnus(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{
			name: "magnus.conf",
			in: "# magnus.conf\nServerName mail.siroe.com\nPort 8080\nAddress\t127.0.0.1\n" +
				"Init fn=load-modules shlib=a.so\nInit fn=flex-init  access=x\nKeepAlive\n\n",
			want: map[string]string{"ServerName": "mail.siroe.com", "Port": "8080", "Address": "127.0.0.1",
				"Init": "fn=flex-init  access=x", "KeepAlive": ""},
		},
		{name: "empty", in: "", want: map[string]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Magnus(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Magnus() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestProperties(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want map[string]string
	}{
		{
			name: "servlets.properties",
			in: "# servlets.properties\n! also a comment\n\nservlet.snoop.code=SnoopServlet\n" +
				"servlet.nda.initArgs=ldapurl=ldap://h/o=x,version=1.1\nkey: value\nspaced   value here\nlone\n",
			want: map[string]string{"servlet.snoop.code": "SnoopServlet", "servlet.nda.initArgs": "ldapurl=ldap://h/o=x,version=1.1",
				"key": "value", "spaced": "value here", "lone": ""},
		},
		{
			name: "continuation",
			in:   "a=one \\\n    two\nb=c:\\\\\nd=e\ntail=x\\",
			want: map[string]string{"a": "one two", "b": `c:\\`, "d": "e", "tail": "x"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Properties(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Properties() = %q; want %q", got, tt.want)
			}
		})
	}
}
