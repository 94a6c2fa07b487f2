// The Sun Cluster 3.x CLIs (scstat, scswitch, scrgadm), the per-node
// Solaris packages (pkginfo, pkgadd) and ssh to the other nodes.

package media

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

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
