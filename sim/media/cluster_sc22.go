// The Sun Cluster 2.2 CLIs: hareg and haget.

package media

import (
	"fmt"
	"strings"
)

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
