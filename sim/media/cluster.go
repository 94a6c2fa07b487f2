package media

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msguard/msguard/sim"
	"github.com/msguard/msguard/sim/procs"
)

// Cluster names of the HA scenarios (runbook §6).
const (
	SC22Service  = "iMS50"  // Sun Cluster 2.2 data service
	SC22Logical  = "ims-lh" // Sun Cluster 2.2 logical host of the service
	VCSGroup     = "iMS5"   // Veritas Cluster Server service group
	VCSMail      = "mail"   // the VCS resource of the Messaging Server
	SC3Group     = "ims-rg" // Sun Cluster 3.x resource group
	SC3Resource  = "ims-rs" // its SUNW.ims resource
	SC3Logical   = "ims-lh" // its SUNW.LogicalHostname resource
	SC3AgentPkg  = "SUNWscims"
	pkgKeyPrefix = "pkg:"
	enabledKey   = "enabled:"
	depKey       = "dep:"
)

// VCSResources are the resources of the VCS service group.
var VCSResources = []string{"logical_IP", "mail", "mountshared"}

// clusterPrograms are the CLIs written into Paths.ClusterBin() per HA
// kind; every kind also gets the cluster monitor (Paths.HAMonitor()).
var clusterPrograms = map[string][]string{
	"sc22": {"hareg", "haget"},
	"vcs":  {"hagrp", "hares"},
	"sc3":  {"scstat", "scrgadm", "scswitch", "pkginfo", "pkgadd", "ssh"},
}

// clusterCmd is one run of a cluster CLI against a host's state. A
// command that changes the state sets changed; what it does to processes
// goes into after, which runs once the state is saved (so that the
// cluster monitor, reading the state, never undoes it).
type clusterCmd struct {
	st      *sim.State
	stdio   sim.Stdio
	changed bool
	after   []func(ctx context.Context) error
}

// startMsg queues `INST/start-msg ha` unless the daemons already run.
func (c *clusterCmd) startMsg() {
	c.after = append(c.after, func(ctx context.Context) error {
		_, err := procs.StartMsgHA(ctx, c.st, c.stdio.Out, nil)
		return err
	})
}

// stopMsg queues `INST/stop-msg ha`.
func (c *clusterCmd) stopMsg() {
	c.after = append(c.after, func(ctx context.Context) error { return procs.StopMsgHA(ctx, c.st, c.stdio.Out) })
}

// clusterFunc runs a cluster CLI; it returns the exit code.
type clusterFunc func(c *clusterCmd, args []string) int

var clusterFuncs = map[string]clusterFunc{
	"hareg": hareg, "haget": haget, "hagrp": hagrp, "hares": hares,
	"scstat": scstat, "scrgadm": scrgadm, "scswitch": scswitch,
	"pkginfo": pkginfo, "pkgadd": pkgadd, "ssh": ssh,
}

func init() {
	sim.RegisterCreateStep(sim.OrderCluster, "cluster", createCluster)
	for name, f := range clusterFuncs {
		sim.RegisterProgram(name, clusterProgram(name, f))
	}
	sim.RegisterProgram(haMonitorName, haMonitor)
}

// createCluster writes the cluster CLIs of Scenario.HA and the cluster
// monitor into Paths.ClusterBin() as hard links to the simulator binary
// and sets the initial cluster state: everything online and enabled, the
// SC3 agent on every node at the installed Messaging Server's version.
func createCluster(_ context.Context, st *sim.State, _ string, log io.Writer) error {
	names := clusterPrograms[st.Scenario.HA]
	if len(names) == 0 {
		return nil
	}
	if st.Scenario.HA == "sc3" {
		nodes := haNodes(st)
		for _, u := range st.Scenario.HAUnreachable {
			if !contains(nodes, u) {
				return fmt.Errorf("ha_unreachable node %q is not one of the cluster nodes %v", u, nodes)
			}
			if u == nodes[0] {
				return fmt.Errorf("ha_unreachable node %q is this host (the first cluster node)", u)
			}
		}
	}
	p := st.Paths()
	if err := os.MkdirAll(p.ClusterBin(), 0o755); err != nil {
		return fmt.Errorf("create cluster bin: %w", err)
	}
	for _, n := range append(append([]string{}, names...), haMonitorName) {
		dst := filepath.Join(p.ClusterBin(), n)
		os.Remove(dst)
		if err := os.Link(p.SimBinary(), dst); err != nil {
			if err := copyFile(p.SimBinary(), dst, 0o755); err != nil {
				return fmt.Errorf("install cluster program %s: %w", n, err)
			}
		}
	}
	st.Cluster = map[string]string{}
	switch st.Scenario.HA {
	case "sc22":
		st.Cluster[SC22Service] = "on"
	case "vcs":
		st.Cluster[VCSGroup] = "ONLINE"
		for _, r := range VCSResources {
			st.Cluster[r] = "ONLINE"
			st.Cluster[enabledKey+r] = "1"
		}
		st.Cluster[depKey+"mail->logical_IP"] = "1"
		st.Cluster[depKey+"mail->mountshared"] = "1"
	case "sc3":
		st.Cluster[SC3Group] = "Online"
		st.Cluster[SC3Logical] = "Online"
		st.Cluster[SC3Resource] = "Online"
		st.Cluster[enabledKey+SC3Logical] = "1"
		st.Cluster[enabledKey+SC3Resource] = "1"
		for _, n := range haNodes(st) {
			st.Cluster[pkgKey(n, SC3AgentPkg)] = sim.MsgBaseVersion(st.MsgVersion)
		}
	}
	fmt.Fprintf(log, "cluster: %s CLIs %s and %s in %s\n", st.Scenario.HA, strings.Join(names, ", "), haMonitorName, p.ClusterBin())
	return nil
}

// clusterProgram finds the host from the program's own path
// (ROOT/.msguard-sim/cluster-bin/<name>), runs f and saves a changed state.
func clusterProgram(name string, f clusterFunc) sim.ProgramFunc {
	return func(ctx context.Context, args []string, stdio sim.Stdio) int {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stdio.Err, "%s: find own executable: %v\n", name, err)
			return 2
		}
		return runCluster(ctx, name, exe, f, args, stdio)
	}
}

// rootOf is the server root of a program in ROOT/.msguard-sim/cluster-bin.
func rootOf(name, exe string) (string, error) {
	bin := filepath.Dir(strings.TrimSuffix(exe, " (deleted)"))
	if filepath.Base(bin) != "cluster-bin" {
		return "", fmt.Errorf("%s: %s is not in a simulated host's cluster-bin", name, exe)
	}
	return filepath.Dir(filepath.Dir(bin)), nil
}

// runCluster runs f on the state of the host whose cluster-bin holds exe,
// saves the state when f changed it, then does f's process work (starting
// or stopping the Messaging Server) before it returns.
func runCluster(ctx context.Context, name, exe string, f clusterFunc, args []string, stdio sim.Stdio) int {
	root, err := rootOf(name, exe)
	if err != nil {
		fmt.Fprintln(stdio.Err, err)
		return 2
	}
	st, err := sim.LoadState(root)
	if err != nil {
		fmt.Fprintf(stdio.Err, "%s: %v\n", name, err)
		return 2
	}
	if st.Cluster == nil {
		st.Cluster = map[string]string{}
	}
	c := &clusterCmd{st: st, stdio: stdio}
	code := f(c, args)
	if c.changed {
		if err := st.Save(); err != nil {
			fmt.Fprintf(stdio.Err, "%s: save cluster state: %v\n", name, err)
			return 2
		}
	}
	for _, a := range c.after {
		if err := a(ctx); err != nil {
			fmt.Fprintf(stdio.Err, "%s: %v\n", name, err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// ServiceOn reports whether the cluster has the Messaging service under
// its control and on, which is when the cluster monitor keeps the
// daemons running:
//
//   - sc22: data service iMS50 registered and "on" (hareg);
//   - vcs: group iMS5 ONLINE, resource mail enabled (Enabled 1) and ONLINE;
//   - sc3: resource ims-rs Online and enabled (scswitch -e).
func ServiceOn(st *sim.State) bool {
	c := st.Cluster
	switch st.Scenario.HA {
	case "sc22":
		return c[SC22Service] == "on"
	case "vcs":
		return c[VCSGroup] == "ONLINE" && c[enabledKey+VCSMail] == "1" && c[VCSMail] == "ONLINE"
	case "sc3":
		return c[SC3Resource] == "Online" && c[enabledKey+SC3Resource] != "0"
	}
	return false
}

func shortHost(st *sim.State) string {
	h, _, _ := strings.Cut(st.Scenario.Host, ".")
	return h
}

// haMaster is the physical host mastering the SC 2.2 logical host.
func haMaster(st *sim.State) string {
	if st.Scenario.HAMaster != "" {
		return st.Scenario.HAMaster
	}
	return shortHost(st)
}

// haNodes are the SC 3.x cluster nodes, this host first.
func haNodes(st *sim.State) []string {
	if len(st.Scenario.HANodes) > 0 {
		return st.Scenario.HANodes
	}
	h := shortHost(st)
	return []string{h, h + "-2"}
}

// pkgKey is the state key of package pkg on node: "pkg:<node>:<pkg>".
func pkgKey(node, pkg string) string { return pkgKeyPrefix + node + ":" + pkg }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
