// The Veritas Cluster Server CLIs, hagrp and hares, and their resource dependencies.

package media

import (
	"fmt"
	"strings"

	"github.com/msguard/msguard/sim"
)

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
