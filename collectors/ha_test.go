package collectors

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
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
			name: "sun cluster 2.2",
			scripts: map[string]string{"hareg": "printf 'iMS50 on\\nnfs off\\n'\n",
				"haget": `case "$*" in "-f master -h ims-lh") echo budgie ;; "-f mastered") printf 'other-lh\nims-lh\n' ;; *) exit 1 ;; esac` + "\n"},
			want: facts.HA{Kind: HASC22, Tools: []string{"hareg"}, Services: map[string]string{"iMS50": "on", "nfs": "off"},
				Master: "budgie", IsMaster: true},
		},
		{
			name: "sun cluster 2.2 mastered elsewhere",
			scripts: map[string]string{"hareg": "echo 'iMS50 on'\n",
				"haget": `case "$*" in "-f master -h ims-lh") echo parrot ;; "-f mastered") ;; *) exit 1 ;; esac` + "\n"},
			want: facts.HA{Kind: HASC22, Tools: []string{"hareg"}, Services: map[string]string{"iMS50": "on"}, Master: "parrot"},
		},
		{
			name:        "sun cluster 2.2 without haget",
			scripts:     map[string]string{"hareg": "echo 'iMS50 on'\n"},
			want:        facts.HA{Kind: HASC22, Tools: []string{"hareg"}, Services: map[string]string{"iMS50": "on"}, MasterError: "haget not found"},
			wantPartial: "haget not found",
		},
		{
			name: "sun cluster 2.2 haget fails",
			scripts: map[string]string{"hareg": "echo 'iMS50 on'\n",
				"haget": `[ "$2" = mastered ] && { echo ims-lh; exit 0; }; echo 'haget: not a cluster member' >&2; exit 2` + "\n"},
			want: facts.HA{Kind: HASC22, Tools: []string{"hareg"}, Services: map[string]string{"iMS50": "on"},
				MasterError: "haget -f master -h ims-lh: exit status 2: haget: not a cluster member"},
			wantPartial: "haget -f master -h ims-lh: exit status 2",
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
				"scstat": `[ "$1" = "-n" ] && { cat <<EOF

-- Cluster Nodes --

                    Node name           Status
                    ---------           ------
  Cluster node:     ME                  Online
  Cluster node:     parrot              Online
  Cluster node:     kea                 Offline
  Cluster node:     moa                 Online
EOF
exit 0; }
[ "$1" = "-g" ] || exit 1
cat <<EOF
-- Resource Groups --

            Group Name          Node Name           State
            ----------          ---------           -----
     Group: ims-rg              budgie              Offline
     Group: ims-rg              parrot              Online
EOF
`,
				"pkginfo": `[ "$*" = "SUNWscims" ] && exit 0
[ "$*" = "-l SUNWscims" ] && { echo '   PKGINST:  SUNWscims'; echo '   VERSION:  5.1'; exit 0; }
exit 1
`,
				"ssh": `[ "$1 $2 $4 $5 $6" = "-o BatchMode=yes pkginfo -l SUNWscims" ] || exit 2
case $3 in
parrot) echo '   VERSION:  5.2' ;;
*) echo "ssh: connect to host $3 port 22: Connection timed out" >&2; exit 255 ;;
esac
`,
			},
			want: facts.HA{Kind: HASC3, Tools: []string{"scrgadm", "scstat"}, AgentPackage: true,
				Services: map[string]string{"ims-rg": "Online", "ims-rg@budgie": "Offline", "ims-rg@parrot": "Online"},
				Nodes: []facts.HANode{
					{Name: "ME", Status: "Online", Local: true, Reachable: true, AgentVersion: "5.1"},
					{Name: "parrot", Status: "Online", Reachable: true, AgentVersion: "5.2"},
					{Name: "kea", Status: "Offline", Error: "node kea is Offline in scstat -n"},
					{Name: "moa", Status: "Online", Error: "ssh moa: ssh: connect to host moa port 22: Connection timed out"},
				}},
		},
		{
			name: "sun cluster 3 without agent",
			scripts: map[string]string{
				"scrgadm": "exit 0\n",
				"scstat":  "echo '  Resource Group: ims-rg budgie Online'\n",
				"pkginfo": "echo 'ERROR: information for \"SUNWscims\" was not found' >&2; exit 1\n",
			},
			want: facts.HA{Kind: HASC3, Tools: []string{"scrgadm", "scstat"},
				Services:   map[string]string{"ims-rg": "Online", "ims-rg@budgie": "Online"},
				NodesError: "scstat -n listed no cluster node"},
		},
		{
			name: "sun cluster 3 scstat -n fails",
			scripts: map[string]string{
				"scrgadm": "exit 0\n",
				"scstat":  "[ \"$1\" = -n ] && { echo 'scstat: not a cluster member' >&2; exit 1; }; echo '  Resource Group: ims-rg budgie Online'\n",
				"pkginfo": "exit 0\n",
			},
			want: facts.HA{Kind: HASC3, Tools: []string{"scrgadm", "scstat"}, AgentPackage: true,
				Services:   map[string]string{"ims-rg": "Online", "ims-rg@budgie": "Online"},
				NodesError: "scstat -n: exit status 1: scstat: not a cluster member"},
			wantPartial: "scstat -n: exit status 1",
		},
		{
			name:        "command fails",
			scripts:     map[string]string{"hareg": "echo 'hareg: not a cluster member' >&2; exit 2\n"},
			want:        facts.HA{Kind: HASC22, Tools: []string{"hareg"}, MasterError: "haget not found"},
			wantPartial: "hareg: exit status 2: hareg: not a cluster member",
		},
		{
			name:        "command hangs",
			scripts:     map[string]string{"hareg": "sleep 600\n"},
			want:        facts.HA{Kind: HASC22, Tools: []string{"hareg"}, MasterError: "haget not found"},
			wantPartial: "hareg: timed out",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			me := shortName(hostName())
			for name, body := range tt.scripts {
				writeScript(t, dir, name, strings.ReplaceAll(body, "ME", me))
			}
			for i := range tt.want.Nodes {
				if tt.want.Nodes[i].Name == "ME" {
					tt.want.Nodes[i].Name = me
				}
			}
			path := dir + string(os.PathListSeparator) + "/usr/bin:/bin"
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			s := &facts.Snapshot{}
			partial, err := collectHA(ctx, &Target{Options: Options{Path: path}, host: LiveHost{}}, s)
			if err != nil {
				t.Fatal(err)
			}
			h := s.HA
			if h.Kind != tt.want.Kind || !slices.Equal(h.Tools, tt.want.Tools) || h.AgentPackage != tt.want.AgentPackage ||
				!slices.Equal(h.Dependencies, tt.want.Dependencies) || len(h.Services) != len(tt.want.Services) {
				t.Errorf("ha = %+v, want %+v", *h, tt.want)
			}
			if h.Master != tt.want.Master || h.IsMaster != tt.want.IsMaster || h.MasterError != tt.want.MasterError {
				t.Errorf("master = %q, is master %v, error %q; want %q, %v, %q", h.Master, h.IsMaster, h.MasterError,
					tt.want.Master, tt.want.IsMaster, tt.want.MasterError)
			}
			if !reflect.DeepEqual(h.Nodes, tt.want.Nodes) || h.NodesError != tt.want.NodesError {
				t.Errorf("nodes = %+v (error %q), want %+v (error %q)", h.Nodes, h.NodesError, tt.want.Nodes, tt.want.NodesError)
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
