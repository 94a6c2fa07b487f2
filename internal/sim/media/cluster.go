package media

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/msguard/msguard/internal/sim"
)

// Cluster names of the HA scenarios (runbook §6).
const (
	SC22Service  = "iMS50"  // Sun Cluster 2.2 data service
	VCSGroup     = "iMS5"   // Veritas Cluster Server service group
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

// clusterPrograms are the CLIs written into Paths.ClusterBin() per HA kind.
var clusterPrograms = map[string][]string{
	"sc22": {"hareg"},
	"vcs":  {"hagrp", "hares"},
	"sc3":  {"scstat", "scrgadm", "pkginfo", "pkgadd"},
}

// clusterFunc runs a cluster CLI against a host's state; it reports
// whether the state changed and the exit code.
type clusterFunc func(st *sim.State, args []string, stdio sim.Stdio) (changed bool, code int)

var clusterFuncs = map[string]clusterFunc{
	"hareg": hareg, "hagrp": hagrp, "hares": hares,
	"scstat": scstat, "scrgadm": scrgadm, "pkginfo": pkginfo, "pkgadd": pkgadd,
}

func init() {
	sim.RegisterCreateStep(sim.OrderCluster, "cluster", createCluster)
	for name, f := range clusterFuncs {
		sim.RegisterProgram(name, clusterProgram(name, f))
	}
}

// createCluster writes the cluster CLIs of Scenario.HA into
// Paths.ClusterBin() as hard links to the simulator binary and sets the
// initial cluster state: everything online, the SC3 agent at the installed
// Messaging Server's version.
func createCluster(_ context.Context, st *sim.State, _ string, log io.Writer) error {
	names := clusterPrograms[st.Scenario.HA]
	if len(names) == 0 {
		return nil
	}
	p := st.Paths()
	if err := os.MkdirAll(p.ClusterBin(), 0o755); err != nil {
		return fmt.Errorf("create cluster bin: %w", err)
	}
	for _, n := range names {
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
		st.Cluster[pkgKeyPrefix+SC3AgentPkg] = sim.MsgBaseVersion(st.MsgVersion)
	}
	fmt.Fprintf(log, "cluster: %s CLIs %s in %s\n", st.Scenario.HA, strings.Join(names, ", "), p.ClusterBin())
	return nil
}

// clusterProgram finds the host from the program's own path
// (ROOT/.msguard-sim/cluster-bin/<name>), runs f and saves a changed state.
func clusterProgram(name string, f clusterFunc) sim.ProgramFunc {
	return func(_ context.Context, args []string, stdio sim.Stdio) int {
		exe, err := os.Executable()
		if err != nil {
			fmt.Fprintf(stdio.Err, "%s: find own executable: %v\n", name, err)
			return 2
		}
		return runCluster(name, exe, f, args, stdio)
	}
}

func runCluster(name, exe string, f clusterFunc, args []string, stdio sim.Stdio) int {
	bin := filepath.Dir(exe)
	if filepath.Base(bin) != "cluster-bin" {
		fmt.Fprintf(stdio.Err, "%s: %s is not in a simulated host's cluster-bin\n", name, exe)
		return 2
	}
	root := filepath.Dir(filepath.Dir(bin))
	st, err := sim.LoadState(root)
	if err != nil {
		fmt.Fprintf(stdio.Err, "%s: %v\n", name, err)
		return 2
	}
	if st.Cluster == nil {
		st.Cluster = map[string]string{}
	}
	changed, code := f(st, args, stdio)
	if changed {
		if err := st.Save(); err != nil {
			fmt.Fprintf(stdio.Err, "%s: save cluster state: %v\n", name, err)
			return 2
		}
	}
	return code
}

func shortHost(st *sim.State) string {
	h, _, _ := strings.Cut(st.Scenario.Host, ".")
	return h
}

// hareg imitates Sun Cluster 2.2 hareg(1M):
//
//	hareg            one "<service> <on|off>" line per registered service
//	hareg -n SVC     turn the service off
//	hareg -y SVC     turn the service on
//	hareg -u SVC     unregister it (it must be off)
//	hareg -r SVC ... register it (off); further options are ignored
func hareg(st *sim.State, args []string, stdio sim.Stdio) (bool, int) {
	if len(args) == 0 {
		for _, k := range sortedKeys(st.Cluster) {
			fmt.Fprintf(stdio.Out, "%-12s%s\n", k, st.Cluster[k])
		}
		return false, 0
	}
	if len(args) < 2 {
		fmt.Fprintln(stdio.Err, "usage: hareg [-n|-y|-u|-r] service")
		return false, 1
	}
	svc := args[1]
	state, registered := st.Cluster[svc]
	if args[0] == "-r" {
		if registered {
			fmt.Fprintf(stdio.Err, "hareg: service %s is already registered\n", svc)
			return false, 1
		}
		st.Cluster[svc] = "off"
		return true, 0
	}
	if !registered {
		fmt.Fprintf(stdio.Err, "hareg: service %s is not registered\n", svc)
		return false, 1
	}
	switch args[0] {
	case "-n":
		st.Cluster[svc] = "off"
	case "-y":
		st.Cluster[svc] = "on"
	case "-u":
		if state == "on" {
			fmt.Fprintf(stdio.Err, "hareg: service %s is on: turn it off first (hareg -n %s)\n", svc, svc)
			return false, 1
		}
		delete(st.Cluster, svc)
	default:
		fmt.Fprintf(stdio.Err, "hareg: unknown option %s\n", args[0])
		return false, 1
	}
	return true, 0
}

// hagrp imitates Veritas hagrp(1M):
//
//	hagrp -list                 "<group> <system>" lines
//	hagrp -state [GROUP]        #Group Attribute System Value table, value |ONLINE| or |OFFLINE|
//	hagrp -offline GROUP -sys H takes the group and its resources offline
//	hagrp -online GROUP -sys H  brings the group and its enabled resources online
func hagrp(st *sim.State, args []string, stdio sim.Stdio) (bool, int) {
	sys := shortHost(st)
	if len(args) == 0 {
		fmt.Fprintln(stdio.Err, "usage: hagrp -state|-list|-online|-offline ...")
		return false, 1
	}
	switch args[0] {
	case "-list":
		fmt.Fprintf(stdio.Out, "%-12s %s\n", VCSGroup, sys)
		return false, 0
	case "-state":
		if len(args) > 1 && args[1] != VCSGroup {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-40131 Group %s does not exist in the local cluster\n", args[1])
			return false, 1
		}
		fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s %s\n", "#Group", "Attribute", "System", "Value")
		fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s |%s|\n", VCSGroup, "State", sys, st.Cluster[VCSGroup])
		return false, 0
	case "-online", "-offline":
		if len(args) != 4 || args[2] != "-sys" {
			fmt.Fprintf(stdio.Err, "usage: hagrp %s group -sys system\n", args[0])
			return false, 1
		}
		if args[1] != VCSGroup {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-40131 Group %s does not exist in the local cluster\n", args[1])
			return false, 1
		}
		if args[3] != sys && args[3] != st.Scenario.Host {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-40130 System %s does not exist in the local cluster\n", args[3])
			return false, 1
		}
		state := "ONLINE"
		if args[0] == "-offline" {
			state = "OFFLINE"
		}
		st.Cluster[VCSGroup] = state
		for _, r := range VCSResources {
			if state == "OFFLINE" || st.Cluster[enabledKey+r] != "0" {
				st.Cluster[r] = state
			}
		}
		return true, 0
	}
	fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10601 Unknown option %s\n", args[0])
	return false, 1
}

// hares imitates Veritas hares(1M):
//
//	hares -dep [RES]            #Group Parent Child table of the resource links
//	hares -state [RES]          #Resource Attribute System Value table
//	hares -link P C             parent P requires child C
//	hares -unlink P C           remove that link
//	hares -modify R Enabled 0|1 disable or enable a resource
func hares(st *sim.State, args []string, stdio sim.Stdio) (bool, int) {
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
		return false, 1
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
		return false, 0
	case "-state":
		fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s %s\n", "#Resource", "Attribute", "System", "Value")
		for _, r := range VCSResources {
			if len(args) > 1 && args[1] != r {
				continue
			}
			fmt.Fprintf(stdio.Out, "%-12s %-21s %-10s %s\n", r, "State", sys, st.Cluster[r])
		}
		return false, 0
	case "-link", "-unlink":
		if len(args) != 3 {
			fmt.Fprintf(stdio.Err, "usage: hares %s parent child\n", args[0])
			return false, 1
		}
		if !known(args[1]) || !known(args[2]) {
			return false, 1
		}
		k := depKey + args[1] + "->" + args[2]
		_, linked := st.Cluster[k]
		if args[0] == "-link" {
			if linked {
				fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10173 Dependency %s -> %s already exists\n", args[1], args[2])
				return false, 1
			}
			st.Cluster[k] = "1"
			return true, 0
		}
		if !linked {
			fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10174 Dependency %s -> %s does not exist\n", args[1], args[2])
			return false, 1
		}
		delete(st.Cluster, k)
		return true, 0
	case "-modify":
		if len(args) != 4 || args[2] != "Enabled" || (args[3] != "0" && args[3] != "1") {
			fmt.Fprintln(stdio.Err, "usage: hares -modify resource Enabled 0|1")
			return false, 1
		}
		if !known(args[1]) {
			return false, 1
		}
		st.Cluster[enabledKey+args[1]] = args[3]
		if args[3] == "0" {
			st.Cluster[args[1]] = "OFFLINE"
		}
		return true, 0
	}
	fmt.Fprintf(stdio.Err, "VCS WARNING V-16-1-10601 Unknown option %s\n", args[0])
	return false, 1
}

// scstat imitates Sun Cluster 3.x scstat(1M) -g: the resource groups and
// resources with their node and state.
func scstat(st *sim.State, args []string, stdio sim.Stdio) (bool, int) {
	if len(args) != 1 || args[0] != "-g" {
		fmt.Fprintln(stdio.Err, "usage: scstat -g")
		return false, 1
	}
	node := shortHost(st)
	w := stdio.Out
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
		fmt.Fprintf(w, "  Resource: %-19s %-19s %-9s %s - %s\n", r, node, s, s, map[string]string{SC3Logical: "LogicalHostname online.", SC3Resource: "Service is online."}[r])
	}
	return false, 0
}

// scrgadm imitates Sun Cluster 3.x scrgadm(1M) -p: the registered resource
// types (SUNW.ims only while the SUNWscims agent is installed) and the
// resource group.
func scrgadm(st *sim.State, args []string, stdio sim.Stdio) (bool, int) {
	if len(args) != 1 || (args[0] != "-p" && args[0] != "-pv") {
		fmt.Fprintln(stdio.Err, "usage: scrgadm -p")
		return false, 1
	}
	w := stdio.Out
	line := func(indent int, k, v string) {
		fmt.Fprintf(w, "%s%-*s%s\n", strings.Repeat(" ", indent), 51-indent, k+":", v)
	}
	line(0, "Res Type name", "SUNW.LogicalHostname")
	line(2, "Res Type description", "Logical Hostname Resource Type")
	if v := st.Cluster[pkgKeyPrefix+SC3AgentPkg]; v != "" {
		line(0, "Res Type name", "SUNW.ims")
		line(2, "Res Type description", "iPlanet Messaging Server "+v+" server for Sun Cluster")
	}
	line(0, "Res Group name", SC3Group)
	line(2, "Res Group RG_description", "<NULL>")
	line(2, "Res name", SC3Logical)
	line(2, "Res name", SC3Resource)
	return false, 0
}

// pkginfo imitates Solaris pkginfo(1): `pkginfo [PKG...]` prints
// "<category> <pkg> <name>" lines (exit 1 when a named package is not
// installed); `pkginfo -l PKG` prints the long form with VERSION.
func pkginfo(st *sim.State, args []string, stdio sim.Stdio) (bool, int) {
	long := len(args) > 0 && args[0] == "-l"
	if long {
		args = args[1:]
	}
	installed := map[string]string{}
	for k, v := range st.Cluster {
		if name, ok := strings.CutPrefix(k, pkgKeyPrefix); ok {
			installed[name] = v
		}
	}
	if len(args) == 0 {
		for _, k := range sortedKeys(installed) {
			args = append(args, k)
		}
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
	return false, code
}

// pkgadd imitates Solaris pkgadd(1M): `pkgadd [-n] [-a ADMIN] -d DIR PKG`
// installs (or upgrades) PKG from DIR/PKG, whose pkginfo gives VERSION.
func pkgadd(st *sim.State, args []string, stdio sim.Stdio) (bool, int) {
	var dir string
	var pkgs []string
	for i := 0; i < len(args); i++ {
		switch args[i] {
		case "-n":
		case "-a", "-d", "-R":
			if i+1 >= len(args) {
				fmt.Fprintf(stdio.Err, "pkgadd: ERROR: option %s requires an argument\n", args[i])
				return false, 1
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
		return false, 1
	}
	for _, name := range pkgs {
		b, err := os.ReadFile(filepath.Join(dir, name, "pkginfo"))
		if err != nil {
			fmt.Fprintf(stdio.Err, "pkgadd: ERROR: no package associated with <%s>\n", name)
			return false, 1
		}
		version := infValue("[p]\n"+string(b), "p", "VERSION")
		version, _, _ = strings.Cut(version, ",")
		if version == "" {
			fmt.Fprintf(stdio.Err, "pkgadd: ERROR: %s/pkginfo has no VERSION\n", name)
			return false, 1
		}
		if old := st.Cluster[pkgKeyPrefix+name]; old != "" {
			fmt.Fprintf(stdio.Out, "Upgrading <%s> from version %s to %s.\n", name, old, version)
		}
		st.Cluster[pkgKeyPrefix+name] = version
		fmt.Fprintf(stdio.Out, "\nInstallation of <%s> was successful.\n", name)
	}
	return true, 0
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
