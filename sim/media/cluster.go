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

// hareg imitates Sun Cluster 2.2 hareg(1M):
//
//	hareg            one "<service> <on|off>" line per registered service
//	hareg -n SVC     turn the service off: runs INST/stop-msg ha before it returns
//	hareg -y SVC     turn the service on: runs INST/start-msg ha unless the daemons run
//	hareg -u SVC     unregister it (it must be off)
//	hareg -r SVC ... register it (off); further options are ignored
//
// -n, -y, -u and -r run only on the physical host that masters the
// logical host ims-lh (Scenario.HAMaster); elsewhere they exit 1. With
// FailSpec.HARefuseOffline, -n exits 0 and changes nothing.
func hareg(c *clusterCmd, args []string) int {
	st, stdio := c.st, c.stdio
	if len(args) == 0 {
		for _, k := range sortedKeys(st.Cluster) {
			if !strings.Contains(k, ":") {
				fmt.Fprintf(stdio.Out, "%-12s%s\n", k, st.Cluster[k])
			}
		}
		return 0
	}
	if len(args) < 2 {
		fmt.Fprintln(stdio.Err, "usage: hareg [-n|-y|-u|-r] service")
		return 1
	}
	if m := haMaster(st); m != shortHost(st) {
		fmt.Fprintf(stdio.Err, "hareg: this node does not master logical host %s (master: %s)\n", SC22Logical, m)
		return 1
	}
	svc := args[1]
	state, registered := st.Cluster[svc]
	if args[0] == "-r" {
		if registered {
			fmt.Fprintf(stdio.Err, "hareg: service %s is already registered\n", svc)
			return 1
		}
		st.Cluster[svc] = "off"
		c.changed = true
		return 0
	}
	if !registered {
		fmt.Fprintf(stdio.Err, "hareg: service %s is not registered\n", svc)
		return 1
	}
	switch args[0] {
	case "-n":
		if st.Scenario.Fail.HARefuseOffline {
			return 0
		}
		st.Cluster[svc] = "off"
		if svc == SC22Service {
			c.stopMsg()
		}
	case "-y":
		st.Cluster[svc] = "on"
		if svc == SC22Service {
			c.startMsg()
		}
	case "-u":
		if state == "on" {
			fmt.Fprintf(stdio.Err, "hareg: service %s is on: turn it off first (hareg -n %s)\n", svc, svc)
			return 1
		}
		delete(st.Cluster, svc)
	default:
		fmt.Fprintf(stdio.Err, "hareg: unknown option %s\n", args[0])
		return 1
	}
	c.changed = true
	return 0
}

// haget imitates Sun Cluster 2.2 haget(1M):
//
//	haget -f mastered           the logical hosts this physical host masters, one a line
//	                            (ims-lh, or nothing when Scenario.HAMaster is another host)
//	haget -f master -h ims-lh   the physical host mastering the logical host
func haget(c *clusterCmd, args []string) int {
	st, stdio := c.st, c.stdio
	switch {
	case len(args) == 2 && args[0] == "-f" && args[1] == "mastered":
		if haMaster(st) == shortHost(st) {
			fmt.Fprintln(stdio.Out, SC22Logical)
		}
		return 0
	case len(args) == 4 && args[0] == "-f" && args[1] == "master" && args[2] == "-h":
		if args[3] != SC22Logical {
			fmt.Fprintf(stdio.Err, "haget: logical host %s is not configured\n", args[3])
			return 1
		}
		fmt.Fprintln(stdio.Out, haMaster(st))
		return 0
	}
	fmt.Fprintln(stdio.Err, "usage: haget -f mastered | haget -f master -h logicalhost")
	return 1
}

// vcsChildren are the resources r requires (hares -link r child).
func vcsChildren(st *sim.State, r string) []string {
	var out []string
	for _, k := range sortedKeys(st.Cluster) {
		if pc, ok := strings.CutPrefix(k, depKey+r+"->"); ok {
			out = append(out, pc)
		}
	}
	return out
}

// vcsOnline brings the group's enabled resources online in dependency
// order, children first: a resource comes online only when every resource
// it requires is ONLINE (so logical_IP and mountshared come before mail,
// and mail stays OFFLINE while one of them is disabled). It returns the
// group state: ONLINE, or PARTIAL when an enabled resource could not come
// online.
func vcsOnline(st *sim.State) string {
	for progress := true; progress; {
		progress = false
		for _, r := range VCSResources {
			if st.Cluster[r] == "ONLINE" || st.Cluster[enabledKey+r] == "0" {
				continue
			}
			ready := true
			for _, ch := range vcsChildren(st, r) {
				ready = ready && st.Cluster[ch] == "ONLINE"
			}
			if ready {
				st.Cluster[r] = "ONLINE"
				progress = true
			}
		}
	}
	for _, r := range VCSResources {
		if st.Cluster[enabledKey+r] != "0" && st.Cluster[r] != "ONLINE" {
			return "PARTIAL"
		}
	}
	return "ONLINE"
}

// vcsOffline takes r offline after every resource that requires it
// (parents first); taking mail offline stops the Messaging Server.
func vcsOffline(c *clusterCmd, r string) {
	if c.st.Cluster[r] == "OFFLINE" {
		return
	}
	c.st.Cluster[r] = "OFFLINE"
	for _, k := range sortedKeys(c.st.Cluster) {
		if pc, ok := strings.CutPrefix(k, depKey); ok {
			if parent, child, _ := strings.Cut(pc, "->"); child == r {
				vcsOffline(c, parent)
			}
		}
	}
}

// hagrp imitates Veritas hagrp(1M):
//
//	hagrp -list                 "<group> <system>" lines
//	hagrp -state [GROUP]        #Group Attribute System Value table, value |ONLINE|, |PARTIAL| or |OFFLINE|
//	hagrp -offline GROUP -sys H takes every resource offline, mail first (INST/stop-msg ha,
//	                            before the command returns), then the group
//	hagrp -online GROUP -sys H  brings the group and its enabled resources online in
//	                            dependency order (see vcsOnline); when mail comes online,
//	                            runs INST/start-msg ha unless the daemons run
//
// With FailSpec.HARefuseOffline, -offline exits 0 and changes nothing.
func hagrp(c *clusterCmd, args []string) int {
	st, stdio := c.st, c.stdio
	sys := shortHost(st)
	if len(args) == 0 {
		fmt.Fprintln(stdio.Err, "usage: hagrp -state|-list|-online|-offline ...")
		return 1
	}
	switch args[0] {
	case "-list":
		fmt.Fprintf(stdio.Out, "%-12s %s\n", VCSGroup, sys)
		return 0
	case "-state":
		if len(args) > 1 && args[1] != VCSGroup {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-40131 Group %s does not exist in the local cluster\n", args[1])
			return 1
		}
		fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s %s\n", "#Group", "Attribute", "System", "Value")
		fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s |%s|\n", VCSGroup, "State", sys, st.Cluster[VCSGroup])
		return 0
	case "-online", "-offline":
		if len(args) != 4 || args[2] != "-sys" {
			fmt.Fprintf(stdio.Err, "usage: hagrp %s group -sys system\n", args[0])
			return 1
		}
		if args[1] != VCSGroup {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-40131 Group %s does not exist in the local cluster\n", args[1])
			return 1
		}
		if args[3] != sys && args[3] != st.Scenario.Host {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-40130 System %s does not exist in the local cluster\n", args[3])
			return 1
		}
		if args[0] == "-offline" {
			if st.Scenario.Fail.HARefuseOffline {
				return 0
			}
			for _, r := range VCSResources {
				vcsOffline(c, r)
			}
			st.Cluster[VCSGroup] = "OFFLINE"
			c.changed = true
			c.stopMsg()
			return 0
		}
		st.Cluster[VCSGroup] = vcsOnline(st)
		c.changed = true
		if ServiceOn(st) {
			c.startMsg()
		}
		return 0
	}
	fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10601 Unknown option %s\n", args[0])
	return 1
}

// hares imitates Veritas hares(1M):
//
//	hares -dep [RES]            #Group Parent Child table of the resource links
//	hares -state [RES]          #Resource Attribute System Value table
//	hares -link P C             parent P requires child C (hagrp -online brings C up first)
//	hares -unlink P C           remove that link
//	hares -modify R Enabled 0|1 disable or enable a resource. Disabling takes it offline,
//	                            and first every resource that requires it; mail going
//	                            offline runs INST/stop-msg ha before the command returns.
//	                            Enabling does not bring it online (hagrp -online does).
func hares(c *clusterCmd, args []string) int {
	st, stdio := c.st, c.stdio
	sys := shortHost(st)
	known := func(r string) bool {
		if contains(VCSResources, r) {
			return true
		}
		fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10260 Resource %s does not exist in the local cluster\n", r)
		return false
	}
	if len(args) == 0 {
		fmt.Fprintln(stdio.Err, "usage: hares -dep|-state|-link|-unlink|-modify ...")
		return 1
	}
	switch args[0] {
	case "-dep":
		fmt.Fprintf(stdio.Out, "%-12s %-12s %s\n", "#Group", "Parent", "Child")
		for _, k := range sortedKeys(st.Cluster) {
			pc, ok := strings.CutPrefix(k, depKey)
			if !ok {
				continue
			}
			parent, child, _ := strings.Cut(pc, "->")
			if len(args) > 1 && args[1] != parent && args[1] != child {
				continue
			}
			fmt.Fprintf(stdio.Out, "%-12s %-12s %s\n", VCSGroup, parent, child)
		}
		return 0
	case "-state":
		fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s %s\n", "#Resource", "Attribute", "System", "Value")
		for _, r := range VCSResources {
			if len(args) > 1 && args[1] != r {
				continue
			}
			fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s %s\n", r, "State", sys, st.Cluster[r])
		}
		return 0
	case "-link", "-unlink":
		if len(args) != 3 {
			fmt.Fprintf(stdio.Err, "usage: hares %s parent child\n", args[0])
			return 1
		}
		if !known(args[1]) || !known(args[2]) {
			return 1
		}
		k := depKey + args[1] + "->" + args[2]
		_, linked := st.Cluster[k]
		if args[0] == "-link" {
			if linked {
				fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10173 Dependency %s -> %s already exists\n", args[1], args[2])
				return 1
			}
			st.Cluster[k] = "1"
			c.changed = true
			return 0
		}
		if !linked {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10174 Dependency %s -> %s does not exist\n", args[1], args[2])
			return 1
		}
		delete(st.Cluster, k)
		c.changed = true
		return 0
	case "-modify":
		if len(args) != 4 || args[2] != "Enabled" || (args[3] != "0" && args[3] != "1") {
			fmt.Fprintln(stdio.Err, "usage: hares -modify resource Enabled 0|1")
			return 1
		}
		if !known(args[1]) {
			return 1
		}
		st.Cluster[enabledKey+args[1]] = args[3]
		c.changed = true
		if args[3] == "0" {
			mailWasOnline := st.Cluster[VCSMail] == "ONLINE"
			vcsOffline(c, args[1])
			if args[1] == VCSMail || (mailWasOnline && st.Cluster[VCSMail] == "OFFLINE") {
				c.stopMsg()
			}
		}
		return 0
	}
	fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10601 Unknown option %s\n", args[0])
	return 1
}

// scstat imitates Sun Cluster 3.x scstat(1M): -g the resource groups and
// resources with their node and state, -n the cluster nodes (Online, or
// Offline for Scenario.HAUnreachable), no option both.
func scstat(c *clusterCmd, args []string) int {
	st, stdio := c.st, c.stdio
	var groups, nodes bool
	switch {
	case len(args) == 0:
		groups, nodes = true, true
	case len(args) == 1 && args[0] == "-g":
		groups = true
	case len(args) == 1 && args[0] == "-n":
		nodes = true
	default:
		fmt.Fprintln(stdio.Err, "usage: scstat [-g] [-n]")
		return 1
	}
	w := stdio.Out
	if nodes {
		fmt.Fprint(w, "\n-- Cluster Nodes --\n\n")
		fmt.Fprintf(w, "%20s%-20s%s\n", "", "Node name", "Status")
		fmt.Fprintf(w, "%20s%-20s%s\n", "", "---------", "------")
		for _, n := range haNodes(st) {
			status := "Online"
			if contains(st.Scenario.HAUnreachable, n) {
				status = "Offline"
			}
			fmt.Fprintf(w, "  %-18s%-20s%s\n", "Cluster node:", n, status)
		}
		if groups {
			fmt.Fprintln(w)
		}
	}
	if !groups {
		return 0
	}
	node := shortHost(st)
	fmt.Fprint(w, "\n-- Resource Groups and Resources --\n\n")
	fmt.Fprintf(w, "            %-19s %s\n", "Group Name", "Resources")
	fmt.Fprintf(w, "            %-19s %s\n", "----------", "---------")
	fmt.Fprintf(w, " Resources: %-19s %s %s\n", SC3Group, SC3Logical, SC3Resource)
	fmt.Fprint(w, "\n\n-- Resource Groups --\n\n")
	fmt.Fprintf(w, "            %-19s %-19s %s\n", "Group Name", "Node Name", "State")
	fmt.Fprintf(w, "            %-19s %-19s %s\n", "----------", "---------", "-----")
	fmt.Fprintf(w, "     Group: %-19s %-19s %s\n", SC3Group, node, st.Cluster[SC3Group])
	fmt.Fprint(w, "\n\n-- Resources --\n\n")
	fmt.Fprintf(w, "            %-19s %-19s %-9s %s\n", "Resource Name", "Node Name", "State", "Status Message")
	fmt.Fprintf(w, "            %-19s %-19s %-9s %s\n", "-------------", "---------", "-----", "--------------")
	for _, r := range []string{SC3Logical, SC3Resource} {
		s := st.Cluster[r]
		msg := map[string]string{SC3Logical: "LogicalHostname", SC3Resource: "Service is"}[r]
		fmt.Fprintf(w, "  Resource: %-19s %-19s %-9s %s - %s %s.\n", r, node, s, s, msg, strings.ToLower(s))
	}
	return 0
}

// scswitch imitates Sun Cluster 3.x scswitch(1M) on the resources of
// ims-rg (ims-rs requires ims-lh):
//
//	scswitch -n -j RES   disable RES: it goes Offline (ims-lh takes ims-rs with it);
//	                     ims-rs going offline runs INST/stop-msg ha before the command returns
//	scswitch -e -j RES   enable RES: it comes Online (ims-rs only while ims-lh is Online);
//	                     ims-rs coming online runs INST/start-msg ha unless the daemons run
//
// With FailSpec.HARefuseOffline, -n exits 0 and changes nothing.
func scswitch(c *clusterCmd, args []string) int {
	st, stdio := c.st, c.stdio
	if len(args) != 3 || (args[0] != "-n" && args[0] != "-e") || args[1] != "-j" {
		fmt.Fprintln(stdio.Err, "usage: scswitch -n|-e -j resource")
		return 1
	}
	res := args[2]
	if res != SC3Resource && res != SC3Logical {
		fmt.Fprintf(stdio.Err, "scswitch:  (C851080) Resource \"%s\" does not exist.\n", res)
		return 1
	}
	if args[0] == "-n" {
		if st.Scenario.Fail.HARefuseOffline {
			return 0
		}
		st.Cluster[enabledKey+res] = "0"
		st.Cluster[res] = "Offline"
		if res == SC3Logical {
			st.Cluster[SC3Resource] = "Offline"
		}
		c.changed = true
		c.stopMsg()
		return 0
	}
	st.Cluster[enabledKey+res] = "1"
	if res == SC3Logical {
		st.Cluster[SC3Logical] = "Online"
	}
	if st.Cluster[enabledKey+SC3Resource] != "0" && st.Cluster[SC3Logical] == "Online" {
		st.Cluster[SC3Resource] = "Online"
	}
	c.changed = true
	if ServiceOn(st) {
		c.startMsg()
	}
	return 0
}

// scrgadm imitates Sun Cluster 3.x scrgadm(1M) -p: the registered resource
// types (SUNW.ims only while the SUNWscims agent is installed on this
// node) and the resource group.
func scrgadm(c *clusterCmd, args []string) int {
	st, stdio := c.st, c.stdio
	if len(args) != 1 || (args[0] != "-p" && args[0] != "-pv") {
		fmt.Fprintln(stdio.Err, "usage: scrgadm -p")
		return 1
	}
	w := stdio.Out
	line := func(indent int, k, v string) {
		fmt.Fprintf(w, "%s%-*s%s\n", strings.Repeat(" ", indent), 51-indent, k+":", v)
	}
	line(0, "Res Type name", "SUNW.LogicalHostname")
	line(2, "Res Type description", "Logical Hostname Resource Type")
	if v := st.Cluster[pkgKey(haNodes(st)[0], SC3AgentPkg)]; v != "" {
		line(0, "Res Type name", "SUNW.ims")
		line(2, "Res Type description", "iPlanet Messaging Server "+v+" server for Sun Cluster")
	}
	line(0, "Res Group name", SC3Group)
	line(2, "Res Group RG_description", "<NULL>")
	line(2, "Res name", SC3Logical)
	line(2, "Res name", SC3Resource)
	return 0
}

// pkginfo is Solaris pkginfo(1) on this host, the first cluster node.
func pkginfo(c *clusterCmd, args []string) int { return pkginfoOn(c, haNodes(c.st)[0], args) }

// pkgadd is Solaris pkgadd(1M) on this host, the first cluster node.
func pkgadd(c *clusterCmd, args []string) int { return pkgaddOn(c, haNodes(c.st)[0], args) }

// pkginfoOn imitates Solaris pkginfo(1) on node: `pkginfo [PKG...]`
// prints "<category> <pkg> <name>" lines (exit 1 when a named package is
// not installed); `pkginfo -l PKG` prints the long form with VERSION.
// Packages are per node: state keys "pkg:<node>:<pkg>".
func pkginfoOn(c *clusterCmd, node string, args []string) int {
	st, stdio := c.st, c.stdio
	long := len(args) > 0 && args[0] == "-l"
	if long {
		args = args[1:]
	}
	installed := map[string]string{}
	for k, v := range st.Cluster {
		if name, ok := strings.CutPrefix(k, pkgKey(node, "")); ok {
			installed[name] = v
		}
	}
	if len(args) == 0 {
		args = append(args, sortedKeys(installed)...)
	}
	code := 0
	for _, name := range args {
		v, ok := installed[name]
		if !ok {
			fmt.Fprintf(stdio.Err, "ERROR: information for \"%s\" was not found\n", name)
			code = 1
			continue
		}
		if !long {
			fmt.Fprintf(stdio.Out, "%-12s %-12s %s\n", "application", name, "Sun Cluster iPlanet Messaging Server data service")
			continue
		}
		fmt.Fprintf(stdio.Out, "   PKGINST:  %s\n      NAME:  Sun Cluster iPlanet Messaging Server data service\n  CATEGORY:  application\n      ARCH:  sparc\n   VERSION:  %s\n    STATUS:  completely installed\n\n", name, v)
	}
	return code
}

// pkgaddOn imitates Solaris pkgadd(1M) on node: `pkgadd [-n] [-a ADMIN]
// -d DIR PKG` installs (or upgrades) PKG from DIR/PKG, whose pkginfo gives
// VERSION.
func pkgaddOn(c *clusterCmd, node string, args []string) int {
	st, stdio := c.st, c.stdio
	var dir string
	var pkgs []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-n":
		case "-a", "-d", "-R":
			if i+1 >= len(args) {
				fmt.Fprintf(stdio.Err, "pkgadd: ERROR: option %s requires an argument\n", args[i])
				return 1
			}
			if args[i] == "-d" {
				dir = args[i+1]
			}
			i++
		default:
			pkgs = append(pkgs, args[i])
		}
	}
	if dir == "" || len(pkgs) == 0 {
		fmt.Fprintln(stdio.Err, "usage: pkgadd [-n] [-a admin] -d device pkginst")
		return 1
	}
	for _, name := range pkgs {
		b, err := os.ReadFile(filepath.Join(dir, name, "pkginfo"))
		if err != nil {
			fmt.Fprintf(stdio.Err, "pkgadd: ERROR: no package associated with <%s>\n", name)
			return 1
		}
		version := infValue("[p]\n"+string(b), "p", "VERSION")
		version, _, _ = strings.Cut(version, ",")
		if version == "" {
			fmt.Fprintf(stdio.Err, "pkgadd: ERROR: %s/pkginfo has no VERSION\n", name)
			return 1
		}
		if old := st.Cluster[pkgKey(node, name)]; old != "" {
			fmt.Fprintf(stdio.Out, "Upgrading <%s> from version %s to %s.\n", name, old, version)
		}
		st.Cluster[pkgKey(node, name)] = version
		c.changed = true
		fmt.Fprintf(stdio.Out, "\nInstallation of <%s> was successful.\n", name)
	}
	return 0
}

// ssh imitates ssh(1) to the Sun Cluster 3.x nodes:
//
//	ssh [-o OPT]... [-n|-q|-T|-x]... [USER@]NODE CMD ARGS...
//
// runs pkginfo or pkgadd (nothing else) with the packages of NODE (the
// remote command line is split on blanks, as given in one or several
// arguments). A node that is not a cluster node or is in
// Scenario.HAUnreachable: exit 255 and "ssh: connect to host NODE port
// 22: Connection timed out" on stderr.
func ssh(c *clusterCmd, args []string) int {
	stdio := c.stdio
	i := 0
	for ; i < len(args) && strings.HasPrefix(args[i], "-"); i++ {
		switch args[i] {
		case "-o", "-p", "-l", "-i", "-F":
			i++
		}
	}
	if i >= len(args) {
		fmt.Fprintln(stdio.Err, "usage: ssh [-o option] [user@]hostname command")
		return 255
	}
	node := args[i]
	if _, h, ok := strings.Cut(node, "@"); ok {
		node = h
	}
	if !contains(haNodes(c.st), node) || contains(c.st.Scenario.HAUnreachable, node) {
		fmt.Fprintf(stdio.Err, "ssh: connect to host %s port 22: Connection timed out\n", node)
		return 255
	}
	cmd := strings.Fields(strings.Join(args[i+1:], " "))
	if len(cmd) == 0 {
		fmt.Fprintf(stdio.Err, "ssh: %s: the simulated node runs only pkginfo and pkgadd: give a command\n", node)
		return 255
	}
	switch filepath.Base(cmd[0]) {
	case "pkginfo":
		return pkginfoOn(c, node, cmd[1:])
	case "pkgadd":
		return pkgaddOn(c, node, cmd[1:])
	}
	fmt.Fprintf(stdio.Err, "sh: %s: not found\n", cmd[0])
	return 127
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
