package parse

import (
	"reflect"
	"strings"
	"testing"
)

const imtaCnf = `! imta.cnf - iPlanet Messaging Server MTA configuration
!
! Rewrite rules
siroe.com	$U%siroe.com@ims-ms-daemon
mail.siroe.com	$U%$D@mail.siroe.com
.	$U%$H$D@tcp-daemon

! Channel definitions

defaults notices 1 2 4 7 copywarnpost

l subdirs 20 viaaliasrequired maxjobs 7 pool LOCAL_POOL
mail.siroe.com

! tcp_local
tcp_local smtp mx single_sys remotehost inner
tcp-daemon
  continued keywords

<IMTA_TABLE:internet.rules

ims-ms defragment notices 1 7 14
ims-ms-daemon
`

func TestIMTAChannels(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{name: "full file", in: imtaCnf, want: []string{"l", "tcp_local", "ims-ms"}},
		{name: "crlf", in: strings.ReplaceAll(imtaCnf, "\n", "\r\n"), want: []string{"l", "tcp_local", "ims-ms"}},
		{name: "rules only", in: "a $U@b\n.c $U@d\n", want: nil},
		{name: "rule-looking lines are not channels", in: "hold $U@hold-daemon\n\nhold\nhold-daemon\n\nhold\nhold-daemon\n", want: []string{"hold"}},
		{name: "blank lines of spaces", in: "r $U\n   \nbitbucket\nbitbucket-daemon\n \t\nreprocess\n", want: []string{"bitbucket", "reprocess"}},
		{name: "indented block start", in: "r\n\n  notachannel\nx\n", want: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IMTAChannels(strings.NewReader(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("IMTAChannels() = %q; want %q", got, tt.want)
			}
		})
	}
}

func TestDispatcher(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     map[string]map[string]string
		wantLine int
	}{
		{
			name: "dispatcher.cnf",
			in:   "! dispatcher.cnf\n!\nMIN_PROCS=0\nmax_procs = 5\n!\n[SERVICE=SMTP]\nPORT=25\nIMAGE=IMTA_BIN:tcp_smtp_server\n[ service = SMTP_SUBMIT ]\r\nPORT=587\r\n",
			want: map[string]map[string]string{
				"":                    {"MIN_PROCS": "0", "MAX_PROCS": "5"},
				"SERVICE=SMTP":        {"PORT": "25", "IMAGE": "IMTA_BIN:tcp_smtp_server"},
				"SERVICE=SMTP_SUBMIT": {"PORT": "587"},
			},
		},
		{
			name: "job_controller.cnf",
			in:   "[POOL=DEFAULT]\nJOB_LIMIT=10\n[CHANNEL=tcp_*]\nMASTER_COMMAND=IMTA_BIN:tcp_smtp_client\n[GLOBAL]\n",
			want: map[string]map[string]string{
				"POOL=DEFAULT":  {"JOB_LIMIT": "10"},
				"CHANNEL=tcp_*": {"MASTER_COMMAND": "IMTA_BIN:tcp_smtp_client"},
				"GLOBAL":        {},
			},
		},
		{
			name:     "broken lines",
			in:       "[SERVICE=SMTP]\nPORT=25\nnonsense\n[SERVICE=X\n",
			want:     map[string]map[string]string{"SERVICE=SMTP": {"PORT": "25"}},
			wantLine: 3,
		},
		{name: "empty key", in: "=1\n", want: map[string]map[string]string{}, wantLine: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Dispatcher(strings.NewReader(tt.in))
			checkLineErr(t, err, tt.wantLine)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Dispatcher() = %q; want %q", got, tt.want)
			}
		})
	}
}
