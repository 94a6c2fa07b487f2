package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// haCommandTimeout bounds each cluster command (the collector's own
// deadline, when sooner, wins).
const haCommandTimeout = 15 * time.Second

// haRawLimit bounds the command output kept in HA.Raw.
const haRawLimit = 16 * 1024

// vcsGroup is the VCS service group of the Messaging Server, as the iMS
// 5.x VCS agent documentation names it.
const vcsGroup = "iMS5"

// Cluster kinds, as facts.HA.Kind.
const (
	HANone = "none"
	HASC22 = "sc22"
	HAVCS  = "vcs"
	HASC3  = "sc3"
)

// collectHA tells which cluster software manages the host from the CLIs
// found on opts.Path (or PATH), and asks it for the Messaging service's
// state. Output formats parsed:
//
//   - Sun Cluster 2.2, `hareg`: one "<service> <on|off>" line per service
//     (e.g. "iMS50 on").
//   - VCS, `hagrp -state iMS5`: a table "#Group Attribute System Value"
//     then rows "iMS5 State <system> |ONLINE|"; `hares -dep`: a table
//     "#Group Parent Child" then rows "iMS5 mail logical_IP". Services holds
//     "<group>@<system>" per system and "<group>" = ONLINE when any system
//     has it online, else the first system's state.
//   - Sun Cluster 2.2, `haget -f master -h ims-lh`: the physical host
//     mastering the logical host (Master); `haget -f mastered`: the logical
//     hosts this host masters, one a line (IsMaster when ims-lh is one).
//     A haget that fails or is missing sets MasterError.
//   - Sun Cluster 3.x, `scstat -g`: lines "Group: <name> <node> <state>"
//     (also "Resource Group: ..."), same keys as VCS; `pkginfo SUNWscims`
//     exit status 0 sets AgentPackage. `scstat -n`: lines
//     "Cluster node: <name> <Online|Offline>" (Nodes; a failure sets
//     NodesError). Each Online node's SUNWscims VERSION comes from
//     `pkginfo -l SUNWscims` for this host and from
//     `ssh -o BatchMode=yes <node> pkginfo -l SUNWscims` for the others; a
//     node that is Offline or that ssh cannot reach (exit 255) is kept,
//     Reachable false, with the reason in its Error.
//
// Every command runs with a timeout; a command that fails or times out is
// listed as partial, with the kind still reported.
func collectHA(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	h := t.host
	path := t.Path
	if path == "" {
		path = os.Getenv("PATH")
	}
	ha := &facts.HA{Kind: HANone}
	found := map[string]string{}
	for _, tool := range []string{"hareg", "hagrp", "hares", "scrgadm", "scstat"} {
		if p := h.LookPath(tool, path); p != "" {
			found[tool] = p
			ha.Tools = append(ha.Tools, tool)
		}
	}
	var partial []string
	var raw bytes.Buffer
	runErr := func(tool string, args ...string) (string, error) {
		out, err := runTool(ctx, h, found[tool], path, args...)
		fmt.Fprintf(&raw, "$ %s\n%s", strings.Join(append([]string{tool}, args...), " "), out)
		if err != nil {
			partial = append(partial, err.Error())
		}
		return out, err
	}
	run := func(tool string, args ...string) (string, bool) {
		out, err := runErr(tool, args...)
		return out, err == nil
	}
	switch {
	case found["scrgadm"] != "" && found["scstat"] != "":
		ha.Kind = HASC3
		if out, ok := run("scstat", "-g"); ok {
			ha.Services = parseGroupStates(out, parseSC3Line)
		}
		out, err := runErr("scstat", "-n")
		ha.Nodes, ha.NodesError = SC3Nodes(out, err)
		me := shortName(h.NodeName())
		for i := range ha.Nodes {
			n := &ha.Nodes[i]
			if !SC3NodeOnline(n) {
				continue
			}
			n.Local = n.Name == me
			args := SC3AgentCommand(n.Name, n.Local)
			exe := h.LookPath(args[0], path)
			if exe == "" {
				SC3NodeAgent(n, "", 0, fmt.Errorf("%s not found", args[0]))
				continue
			}
			out, err := h.Run(ctx, Command{Exe: exe, Args: args[1:], Path: path, Merge: true, Group: true, Timeout: haCommandTimeout})
			if err != nil {
				out.RC = -1
			}
			SC3NodeAgent(n, out.Stdout, out.RC, err)
		}
		if p := h.LookPath("pkginfo", path); p != "" {
			out, err := h.Run(ctx, Command{Exe: p, Args: []string{"SUNWscims"}, Path: path, Group: true, Timeout: haCommandTimeout})
			switch {
			case err != nil:
				partial = append(partial, err.Error())
			case out.RC == 0:
				ha.AgentPackage = true
			}
		} else {
			partial = append(partial, "pkginfo not found: cluster agent package SUNWscims not checked")
		}
	case found["hagrp"] != "" && found["hares"] != "":
		ha.Kind = HAVCS
		if out, ok := run("hagrp", "-state", vcsGroup); ok {
			ha.Services = parseGroupStates(out, parseVCSStateLine)
		}
		if out, ok := run("hares", "-dep"); ok {
			ha.Dependencies = parseVCSDeps(out)
		}
	case found["hareg"] != "":
		ha.Kind = HASC22
		if out, ok := run("hareg"); ok {
			ha.Services = parseHareg(out)
		}
		if found["haget"] = h.LookPath("haget", path); found["haget"] == "" {
			ha.Master, ha.IsMaster, ha.MasterError = SC22Master("", errors.New("haget not found"), "", nil)
			partial = append(partial, ha.MasterError)
			break
		}
		master, merr := runErr("haget", "-f", "master", "-h", sc22Logical)
		mastered, derr := runErr("haget", "-f", "mastered")
		ha.Master, ha.IsMaster, ha.MasterError = SC22Master(master, merr, mastered, derr)
	}
	if raw.Len() > haRawLimit {
		raw.Truncate(haRawLimit)
	}
	ha.Raw = raw.String()
	s.HA = ha
	return partial, nil
}

// lookPathIn finds an executable file named name in the PATH-style list
// path, or returns "".
func lookPathIn(name, path string) string {
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			continue
		}
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// runTool runs a cluster CLI on h with a timeout, in its own process
// group so that a timeout kills whatever it started too. Its standard
// output is returned; a failure names the command, its exit status and
// the first line it wrote on standard error.
func runTool(ctx context.Context, h Host, exe, path string, args ...string) (string, error) {
	c := Command{Exe: exe, Args: args, Path: path, Group: true, Timeout: haCommandTimeout}
	out, err := h.Run(ctx, c)
	if err != nil {
		return out.Stdout, err
	}
	if out.RC != 0 {
		err := fmt.Errorf("%s: exit status %d", c.Name(), out.RC)
		if msg := firstLine(out.Stderr); msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		return out.Stdout, err
	}
	return out.Stdout, nil
}

// hostName is this host's name as uname -n gives it ("" when unknown).
func hostName() string {
	h, _ := os.Hostname()
	return h
}

// shortName is a host name without its domain, lower-case.
func shortName(h string) string {
	h, _, _ = strings.Cut(strings.TrimSpace(h), ".")
	return strings.ToLower(h)
}

// sc22Logical is the Sun Cluster 2.2 logical host of the Messaging Server.
const sc22Logical = "ims-lh"

// SC22Master decides the Sun Cluster 2.2 master facts from the output and
// error of `haget -f master -h ims-lh` and of `haget -f mastered`: the
// master's name, whether this host masters ims-lh, and why that is
// unknown ("" when both commands succeeded). An unknown master is never
// this host.
func SC22Master(master string, masterErr error, mastered string, masteredErr error) (string, bool, string) {
	var errs []string
	name := ""
	if masterErr != nil {
		errs = append(errs, masterErr.Error())
	} else if name = firstLine(master); name == "" {
		errs = append(errs, "haget -f master -h "+sc22Logical+" printed no host")
	}
	is := false
	if masteredErr != nil {
		errs = append(errs, masteredErr.Error())
	} else {
		for _, l := range strings.Split(mastered, "\n") {
			is = is || strings.TrimSpace(l) == sc22Logical
		}
	}
	if len(errs) > 0 {
		return name, false, strings.Join(errs, "; ")
	}
	return name, is, ""
}

// SC3Nodes parses `scstat -n` lines "Cluster node: <name> <status>" from
// its output and error into the nodes and the NodesError: the command's
// error, or that it listed no node.
func SC3Nodes(out string, err error) ([]facts.HANode, string) {
	if err != nil {
		return nil, err.Error()
	}
	var nodes []facts.HANode
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "Cluster node:")
		if f := strings.Fields(rest); ok && len(f) >= 2 {
			nodes = append(nodes, facts.HANode{Name: f[0], Status: f[1]})
		}
	}
	if len(nodes) == 0 {
		return nil, "scstat -n listed no cluster node"
	}
	return nodes, ""
}

// SC3NodeOnline reports whether the node is Online in scstat -n; an
// Offline node is marked unreachable, with the reason, and not asked.
func SC3NodeOnline(n *facts.HANode) bool {
	if strings.EqualFold(n.Status, "Online") {
		return true
	}
	n.Reachable = false
	n.Error = fmt.Sprintf("node %s is %s in scstat -n", n.Name, n.Status)
	return false
}

// SC3AgentCommand is the command that reads a node's SUNWscims package:
// pkginfo for this host, ssh for the others.
func SC3AgentCommand(node string, local bool) []string {
	if local {
		return []string{"pkginfo", "-l", sc3AgentPkg}
	}
	return []string{"ssh", "-o", "BatchMode=yes", node, "pkginfo", "-l", sc3AgentPkg}
}

// sc3AgentPkg is the Sun Cluster 3.x agent package of the Messaging Server.
const sc3AgentPkg = "SUNWscims"

// SC3NodeAgent fills a node's package facts from the output (stdout and
// stderr), exit code and error of its SC3AgentCommand: exit 0 gives
// AgentVersion (the VERSION line); exit 255 (ssh could not connect) or an
// error leaves the node unreachable; any other exit is a reachable node
// without the package ("was not found") or with an unreadable one.
func SC3NodeAgent(n *facts.HANode, out string, rc int, err error) {
	line := firstLine(out)
	switch {
	case err != nil:
		n.Reachable, n.Error = false, err.Error()
	case rc == 255:
		n.Reachable, n.Error = false, "ssh "+n.Name+": "+line
	case rc == 0:
		n.Reachable = true
		for _, l := range strings.Split(out, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), "VERSION:"); ok {
				n.AgentVersion = strings.TrimSpace(v)
			}
		}
		if n.AgentVersion == "" {
			n.Error = "pkginfo -l " + sc3AgentPkg + " printed no VERSION"
		}
	default:
		n.Reachable = true
		if !strings.Contains(out, "was not found") {
			n.Error = fmt.Sprintf("pkginfo -l %s: exit status %d: %s", sc3AgentPkg, rc, line)
		}
	}
}

// parseHareg reads Sun Cluster 2.2 `hareg` lines "<service> <on|off>".
func parseHareg(out string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && !strings.HasPrefix(f[0], "#") {
			m[f[0]] = strings.ToLower(f[1])
		}
	}
	return m
}

// groupState is one (group, node, state) row of a cluster status table.
type groupState struct{ group, node, state string }

// parseVCSStateLine reads "iMS5 State host |ONLINE|" (the header starts with #).
func parseVCSStateLine(line string) (groupState, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || strings.HasPrefix(f[0], "#") || f[1] != "State" {
		return groupState{}, false
	}
	state := strings.Trim(strings.Join(f[3:], " "), "|")
	return groupState{f[0], f[2], state}, true
}

// parseSC3Line reads "Group: <name> <node> <state>" or
// "Resource Group: <name> <node> <state>" from `scstat -g`.
func parseSC3Line(line string) (groupState, bool) {
	l := strings.TrimSpace(line)
	rest, ok := strings.CutPrefix(l, "Group:")
	if !ok {
		rest, ok = strings.CutPrefix(l, "Resource Group:")
	}
	if !ok {
		return groupState{}, false
	}
	f := strings.Fields(rest)
	if len(f) < 3 {
		return groupState{}, false
	}
	return groupState{f[0], f[1], f[2]}, true
}

// parseGroupStates builds Services from table rows: "<group>@<node>" per
// node, and "<group>" online when any node has it online.
func parseGroupStates(out string, parse func(string) (groupState, bool)) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		g, ok := parse(line)
		if !ok {
			continue
		}
		m[g.group+"@"+g.node] = g.state
		if cur, seen := m[g.group]; !seen || (!strings.EqualFold(cur, "ONLINE") && strings.EqualFold(g.state, "ONLINE")) {
			m[g.group] = g.state
		}
	}
	return m
}

// parseVCSDeps reads `hares -dep` rows "<group> <parent> <child>" into
// sorted "parent -> child" links.
func parseVCSDeps(out string) []string {
	var deps []string
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		deps = append(deps, f[1]+" -> "+f[2])
	}
	sort.Strings(deps)
	return deps
}
