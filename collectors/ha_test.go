package collectors

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// writeScript writes an executable shell script named name into dir.
func writeScript(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestCollectHA(t *testing.T) {
	tests := []struct {
		name        string
		scripts     map[string]string
		want        facts.HA
		wantPartial string
	}{
		{name: "none", want: facts.HA{Kind: HANone}},
		{
			name:    "sun cluster 2.2",
			scripts: map[string]string{"hareg": "printf 'iMS50 on\\nnfs off\\n'\n"},
			want:    facts.HA{Kind: HASC22, Tools: []string{"hareg"}, Services: map[string]string{"iMS50": "on", "nfs": "off"}},
		},
		{
			name: "veritas",
			scripts: map[string]string{
				"hagrp": `[ "$1 $2" = "-state iMS5" ] || exit 1
cat <<EOF
#Group       Attribute             System     Value
iMS5         State                 budgie     |OFFLINE|
iMS5         State                 parrot     |ONLINE|
EOF
`,
				"hares": `[ "$1" = "-dep" ] || exit 1
cat <<EOF
#Group       Parent       Child
iMS5         mail         mountshared
iMS5         mail         logical_IP
EOF
`,
			},
			want: facts.HA{Kind: HAVCS, Tools: []string{"hagrp", "hares"},
				Services:     map[string]string{"iMS5": "ONLINE", "iMS5@budgie": "OFFLINE", "iMS5@parrot": "ONLINE"},
				Dependencies: []string{"mail -> logical_IP", "mail -> mountshared"}},
		},
		{
			name: "sun cluster 3 with agent",
			scripts: map[string]string{
				"scrgadm": "exit 0\n",
				"scstat": `[ "$1" = "-g" ] || exit 1
cat <<EOF
-- Resource Groups --

            Group Name          Node Name           State
            ----------          ---------           -----
     Group: ims-rg              budgie              Offline
     Group: ims-rg              parrot              Online
EOF
`,
				"pkginfo": `[ "$1" = "SUNWscims" ] && exit 0; exit 1
`,
			},
			want: facts.HA{Kind: HASC3, Tools: []string{"scrgadm", "scstat"}, AgentPackage: true,
				Services: map[string]string{"ims-rg": "Online", "ims-rg@budgie": "Offline", "ims-rg@parrot": "Online"}},
		},
		{
			name: "sun cluster 3 without agent",
			scripts: map[string]string{
				"scrgadm": "exit 0\n",
				"scstat":  "echo '  Resource Group: ims-rg budgie Online'\n",
				"pkginfo": "echo 'ERROR: information for \"SUNWscims\" was not found' >&2; exit 1\n",
			},
			want: facts.HA{Kind: HASC3, Tools: []string{"scrgadm", "scstat"},
				Services: map[string]string{"ims-rg": "Online", "ims-rg@budgie": "Online"}},
		},
		{
			name:        "command fails",
			scripts:     map[string]string{"hareg": "echo 'hareg: not a cluster member' >&2; exit 2\n"},
			want:        facts.HA{Kind: HASC22, Tools: []string{"hareg"}},
			wantPartial: "hareg: exit status 2: hareg: not a cluster member",
		},
		{
			name:        "command hangs",
			scripts:     map[string]string{"hareg": "sleep 600\n"},
			want:        facts.HA{Kind: HASC22, Tools: []string{"hareg"}},
			wantPartial: "hareg: timed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range tt.scripts {
				writeScript(t, dir, name, body)
			}
			path := dir + string(os.PathListSeparator) + "/usr/bin:/bin"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s := &facts.Snapshot{}
			partial, err := collectHA(ctx, &Target{Options: Options{Path: path}}, s)
			if err != nil {
				t.Fatal(err)
			}
			h := s.HA
			if h.Kind != tt.want.Kind || !slices.Equal(h.Tools, tt.want.Tools) || h.AgentPackage != tt.want.AgentPackage ||
				!slices.Equal(h.Dependencies, tt.want.Dependencies) || len(h.Services) != len(tt.want.Services) {
				t.Errorf("ha = %+v, want %+v", *h, tt.want)
			}
			for k, v := range tt.want.Services {
				if h.Services[k] != v {
					t.Errorf("service %s = %q, want %q", k, h.Services[k], v)
				}
			}
			joined := strings.Join(partial, "; ")
			if (tt.wantPartial == "" && len(partial) > 0) || !strings.Contains(joined, tt.wantPartial) {
				t.Errorf("partial = %q, want %q", joined, tt.wantPartial)
			}
		})
	}
}
