package remediate

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// ---- §6 high availability ------------------------------------------------
//
// A cluster restarts the messaging daemons that stop while it has the
// data service on, so the steps before the upgrade take the service out of
// its hands (and prove that no daemon runs afterwards), and the steps
// after it give the service back (and prove that the cluster reports it
// online). Every step reads the cluster's own state to verify: cluster
// commands return before the cluster has acted, and a frozen group or a
// refused switch-over exits 0.

// The cluster objects of runbook §6.
const (
	sc22Service = "iMS50"
	vcsGroup    = "iMS5"
	scimsPkg    = "SUNWscims"
	sc3Resource = "ims-rs"
)

// haCLI is a step that runs cluster commands. Each command is idempotent
// or guarded by check, so a run resumed after a crash inside the step can
// run it again.
func (p *planner) haCLI(id, title string, argvs ...[]string) *Step {
	s := &Step{ID: id, Title: title}
	for _, a := range argvs {
		s.Commands = append(s.Commands, strings.Join(a, " "))
	}
	s.check = func(context.Context) (bool, error) { return false, nil }
	s.do = func(ctx context.Context) error { return runAll(ctx, argvs) }
	return s
}

func runAll(ctx context.Context, argvs [][]string) error {
	for _, a := range argvs {
		if _, err := runScript(ctx, 2*time.Minute, a[0], a[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// noMessaging proves that no messaging daemon of the install runs, and
// that none comes back within a few seconds (a cluster monitor that still
// watches the service restarts them).
func (p *planner) noMessaging(ctx context.Context, id string) error {
	all := byDaemon(append(msgDaemons, intakeDaemons...)...)
	if err := p.waitGone(ctx, id, all); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(haSettle):
	}
	left, err := p.matching(ctx, all)
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("%s: the messaging daemons came back (%s pid %d): the cluster still restarts them", id, left[0].Daemon, left[0].PID)
	}
	return nil
}

// haSettle is how long a stopped service must stay stopped: longer than a
// cluster monitor's probe interval.
const haSettle = 2 * time.Second

// sc22State is the Sun Cluster 2.2 state of the Messaging data service:
// "on", "off", or "" when it is not registered.
func sc22State(ctx context.Context) (string, error) {
	out, err := runScript(ctx, time.Minute, "hareg")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == sc22Service {
			return f[1], nil
		}
	}
	return "", nil
}

// vcsLinks lists the resource links "parent -> child" hares -dep reports.
func vcsLinks(ctx context.Context) (map[string]bool, error) {
	out, err := runScript(ctx, time.Minute, "hares", "-dep")
	if err != nil {
		return nil, err
	}
	links := map[string]bool{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) == 3 && !strings.HasPrefix(f[0], "#") {
			links[f[1]+" -> "+f[2]] = true
		}
	}
	return links, nil
}

// vcsState is the State value `hagrp -state GROUP` or `hares -state RES`
// reports for this system ("ONLINE", "OFFLINE", ...).
func vcsState(ctx context.Context, cli, object string) (string, error) {
	out, err := runScript(ctx, time.Minute, cli, "-state", object)
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == object && f[1] == "State" {
			return strings.Trim(f[len(f)-1], "|"), nil
		}
	}
	return "", fmt.Errorf("%s -state %s reported no state: %s", cli, object, tail(out, 2))
}

// splitDep splits a "parent -> child" link.
func splitDep(d string) (parent, child string, ok bool) {
	parent, child, ok = strings.Cut(d, " -> ")
	return strings.TrimSpace(parent), strings.TrimSpace(child), ok
}

// vcsLink links (or unlinks) the pre-upgrade dependencies that are not
// (or still are) there.
func (p *planner) vcsLink(ctx context.Context, link bool) error {
	have, err := vcsLinks(ctx)
	if err != nil {
		return err
	}
	for _, d := range p.h.HADeps {
		parent, child, ok := splitDep(d)
		if !ok || have[parent+" -> "+child] == link {
			continue
		}
		op := "-unlink"
		if link {
			op = "-link"
		}
		if _, err := runScript(ctx, time.Minute, "hares", op, parent, child); err != nil {
			return err
		}
	}
	return nil
}

// vcsLinksAre proves that every pre-upgrade dependency is (or is not) there.
func (p *planner) vcsLinksAre(ctx context.Context, linked bool) error {
	have, err := vcsLinks(ctx)
	if err != nil {
		return err
	}
	for _, d := range p.h.HADeps {
		if parent, child, ok := splitDep(d); ok && have[parent+" -> "+child] != linked {
			if linked {
				return fmt.Errorf("hares -dep does not show the link %s -> %s", parent, child)
			}
			return fmt.Errorf("hares -dep still shows the link %s -> %s", parent, child)
		}
	}
	return nil
}

// vcsWant proves the VCS states of the group and resources.
func vcsWant(ctx context.Context, want map[string]string) error {
	for _, obj := range []string{vcsGroup, "logical_IP", "mountshared", "mail"} {
		w, ok := want[obj]
		if !ok {
			continue
		}
		cli := "hares"
		if obj == vcsGroup {
			cli = "hagrp"
		}
		got, err := vcsState(ctx, cli, obj)
		if err != nil {
			return err
		}
		if !strings.EqualFold(got, w) {
			return fmt.Errorf("%s -state %s reports %s, want %s", cli, obj, got, w)
		}
	}
	return nil
}

// sc3ResourceState is the state `scstat -g` reports for the SUNW.ims
// resource ("Online", "Offline", ...).
func sc3ResourceState(ctx context.Context) (string, error) {
	out, err := runScript(ctx, time.Minute, "scstat", "-g")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 4 && f[0] == "Resource:" && f[1] == sc3Resource {
			return f[3], nil
		}
	}
	return "", fmt.Errorf("scstat -g does not list resource %s: %s", sc3Resource, tail(out, 2))
}

// sc3Nodes lists the cluster nodes `scstat -n` reports, with their status.
func sc3Nodes(ctx context.Context) ([][2]string, error) {
	out, err := runScript(ctx, time.Minute, "scstat", "-n")
	if err != nil {
		return nil, err
	}
	var nodes [][2]string
	for _, line := range strings.Split(out, "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSpace(line), "Cluster node:")
		if !ok {
			continue
		}
		if f := strings.Fields(rest); len(f) >= 2 {
			nodes = append(nodes, [2]string{f[0], f[1]})
		}
	}
	if len(nodes) == 0 {
		return nil, fmt.Errorf("scstat -n lists no cluster node: %s", tail(out, 2))
	}
	return nodes, nil
}

var pkgVersionRe = regexp.MustCompile(`(?m)^\s*VERSION:\s*(\S+)`)

// localNode is the index of this host among the nodes scstat lists: the
// node named as this host's short name, else the first one.
func localNode(nodes [][2]string) int {
	if h, err := os.Hostname(); err == nil {
		short, _, _ := strings.Cut(h, ".")
		for i, n := range nodes {
			if strings.EqualFold(n[0], short) {
				return i
			}
		}
	}
	return 0
}

// onNode runs a package command on a cluster node: here for this host,
// through ssh for the others.
func onNode(ctx context.Context, local bool, node string, argv ...string) (string, error) {
	if local {
		return runScript(ctx, 5*time.Minute, argv[0], argv[1:]...)
	}
	return runScript(ctx, 5*time.Minute, "ssh", append([]string{"-o", "BatchMode=yes", node}, argv...)...)
}

// scimsVersions reads the SUNWscims version on every node; a node that
// cannot be reached is an error naming it.
func scimsVersions(ctx context.Context) (map[string]string, []string, error) {
	nodes, err := sc3Nodes(ctx)
	if err != nil {
		return nil, nil, err
	}
	out := map[string]string{}
	var order []string
	here := localNode(nodes)
	for i, n := range nodes {
		order = append(order, n[0])
		text, err := onNode(ctx, i == here, n[0], "pkginfo", "-l", scimsPkg)
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) && ee.ExitCode() == 255 {
				return nil, nil, fmt.Errorf("cluster node %s cannot be reached: %w", n[0], err)
			}
			out[n[0]] = "" // not installed
			continue
		}
		if m := pkgVersionRe.FindStringSubmatch(text); m != nil {
			out[n[0]] = strings.TrimSuffix(m[1], ",")
		}
	}
	return out, order, nil
}

// sc22On registers the Messaging data service again if it is not, and
// turns it on (ha.sc22.reinstall, and the backout from any half-state).
func sc22On(ctx context.Context) error {
	st, err := sc22State(ctx)
	if err != nil {
		return err
	}
	if st == "" {
		if err := runAll(ctx, [][]string{{"hareg", "-r", sc22Service}}); err != nil {
			return err
		}
	}
	if st == "on" {
		return nil
	}
	return runAll(ctx, [][]string{{"hareg", "-y", sc22Service}})
}

// vcsOffline takes the group offline and disables the mail resource.
func (p *planner) vcsOffline() [][]string {
	return [][]string{{"hagrp", "-offline", vcsGroup, "-sys", p.h.Host}, {"hares", "-modify", "mail", "Enabled", "0"}}
}

// vcsOnline enables the mail resource and brings the group online.
func (p *planner) vcsOnline() [][]string {
	return [][]string{{"hares", "-modify", "mail", "Enabled", "1"}, {"hagrp", "-online", vcsGroup, "-sys", p.h.Host}}
}

// vcsBack links the pre-upgrade dependencies again, enables mail and
// brings the group online (ha.vcs.relink, and the backout).
func (p *planner) vcsBack(ctx context.Context) error {
	if err := p.vcsLink(ctx, true); err != nil {
		return err
	}
	return runAll(ctx, p.vcsOnline())
}

// sc3Enable enables the SUNW.ims resource (ha.sc3.on, and the backout).
func sc3Enable(ctx context.Context) error {
	return runAll(ctx, [][]string{{"scswitch", "-e", "-j", sc3Resource}})
}

func (p *planner) haBefore() []*Step {
	switch p.h.HA {
	case "sc22":
		off := p.haCLI("ha.sc22.off", "turn the Messaging data service off (Sun Cluster 2.2): the cluster stops the servers", []string{"hareg", "-n", sc22Service})
		off.check = func(ctx context.Context) (bool, error) {
			st, err := sc22State(ctx)
			return err == nil && st != "on", err
		}
		off.verify = func(ctx context.Context) error {
			st, err := sc22State(ctx)
			if err != nil {
				return err
			}
			if st == "on" {
				return fmt.Errorf("hareg -n exited 0 but hareg still reports %s on", sc22Service)
			}
			return p.noMessaging(ctx, "ha.sc22.off")
		}
		off.undo = func(ctx context.Context) error {
			if st, err := sc22State(ctx); err != nil || st == "on" {
				return err
			}
			return runAll(ctx, [][]string{{"hareg", "-y", sc22Service}})
		}
		unreg := p.haCLI("ha.sc22.unregister", "unregister the iMS50 data service", []string{"hareg", "-u", sc22Service})
		unreg.check = func(ctx context.Context) (bool, error) {
			st, err := sc22State(ctx)
			return st == "", err
		}
		unreg.verify = func(ctx context.Context) error {
			st, err := sc22State(ctx)
			if err == nil && st != "" {
				err = fmt.Errorf("hareg -u exited 0 but hareg still lists %s (%s)", sc22Service, st)
			}
			return err
		}
		unreg.undo = func(ctx context.Context) error {
			if st, err := sc22State(ctx); err != nil || st != "" {
				return err
			}
			return runAll(ctx, [][]string{{"hareg", "-r", sc22Service}})
		}
		return []*Step{off, unreg}
	case "vcs":
		host := p.h.Host
		off := p.haCLI("ha.vcs.offline", "take service group iMS5 offline and disable its mail resource", p.vcsOffline()...)
		off.verify = func(ctx context.Context) error {
			if err := vcsWant(ctx, map[string]string{vcsGroup: "OFFLINE", "mail": "OFFLINE"}); err != nil {
				return fmt.Errorf("after hagrp -offline: %w", err)
			}
			return p.noMessaging(ctx, "ha.vcs.offline")
		}
		off.undo = func(ctx context.Context) error { return runAll(ctx, p.vcsOnline()) }
		var unlinks []string
		for _, d := range p.h.HADeps {
			if parent, child, ok := splitDep(d); ok {
				unlinks = append(unlinks, strings.Join([]string{"hares", "-unlink", parent, child}, " "))
			}
		}
		unlink := &Step{ID: "ha.vcs.unlink", Title: "remove the dependencies between mail, logical_IP and mountshared", Commands: unlinks}
		if len(unlinks) == 0 {
			unlink.Skip = "no resource dependencies reported by hares -dep"
		}
		unlink.do = func(ctx context.Context) error { return p.vcsLink(ctx, false) }
		unlink.verify = func(ctx context.Context) error { return p.vcsLinksAre(ctx, false) }
		unlink.undo = func(ctx context.Context) error { return p.vcsLink(ctx, true) }
		on := p.haCLI("ha.vcs.online", "bring service group iMS5 back online (logical IP and shared mount; mail stays disabled)", []string{"hagrp", "-online", vcsGroup, "-sys", host})
		on.verify = func(ctx context.Context) error {
			if err := vcsWant(ctx, map[string]string{vcsGroup: "ONLINE", "logical_IP": "ONLINE", "mountshared": "ONLINE", "mail": "OFFLINE"}); err != nil {
				return fmt.Errorf("after hagrp -online: %w", err)
			}
			return p.noMessaging(ctx, "ha.vcs.online")
		}
		return []*Step{off, unlink, on}
	case "sc3":
		off := p.haCLI("ha.sc3.off", "disable the SUNW.ims resource ims-rs (Sun Cluster 3): the cluster stops the servers and stops restarting them",
			[]string{"scswitch", "-n", "-j", sc3Resource})
		off.check = func(ctx context.Context) (bool, error) {
			st, err := sc3ResourceState(ctx)
			return err == nil && !strings.EqualFold(st, "Online"), err
		}
		off.verify = func(ctx context.Context) error {
			st, err := sc3ResourceState(ctx)
			if err != nil {
				return err
			}
			if strings.EqualFold(st, "Online") {
				return fmt.Errorf("scswitch -n exited 0 but scstat -g still reports %s Online", sc3Resource)
			}
			return p.noMessaging(ctx, "ha.sc3.off")
		}
		off.undo = sc3Enable
		return []*Step{off}
	}
	return nil
}

// haAgent is Sun Cluster 3's ha.sc3.agent: after the Messaging Server
// upgrade, SUNWscims from the 5.2 media on every node.
func (p *planner) haAgent() []*Step {
	if p.h.HA != "sc3" {
		return nil
	}
	pkgDir := filepath.Join(p.mediaPath(), "msg52")
	nodes := "every node scstat -n lists"
	if len(p.h.HANodes) > 0 {
		nodes = strings.Join(p.h.HANodes, ", ")
	}
	s := &Step{ID: "ha.sc3.agent", Title: "install SUNWscims from the 5.2 media on every cluster node (upgrades the HA agent)",
		Commands: []string{fmt.Sprintf("pkgadd -d %s %s   (on %s; ssh to the other nodes)", pkgDir, scimsPkg, nodes)}}
	if p.media == nil || !p.media.SCIMS {
		s.Skip = "the media has no msg52/SUNWscims"
	}
	agentsAt52 := func(ctx context.Context) error {
		versions, order, err := scimsVersions(ctx)
		if err != nil {
			return err
		}
		for _, n := range order {
			if v := versions[n]; !strings.HasPrefix(v, "5.2") {
				if v == "" {
					v = "not installed"
				}
				return fmt.Errorf("cluster node %s: %s is %s, want 5.2", n, scimsPkg, v)
			}
		}
		return nil
	}
	s.check = func(ctx context.Context) (bool, error) { return agentsAt52(ctx) == nil, nil }
	s.do = func(ctx context.Context) error {
		nodes, err := sc3Nodes(ctx)
		if err != nil {
			return err
		}
		here := localNode(nodes)
		for i, n := range nodes {
			if _, err := onNode(ctx, i == here, n[0], "pkgadd", "-n", "-d", pkgDir, scimsPkg); err != nil {
				return fmt.Errorf("cluster node %s: %w", n[0], err)
			}
		}
		return nil
	}
	s.verify = agentsAt52
	return []*Step{s}
}

// haAfter gives the data service back to the cluster, once post.start has
// started the upgraded servers.
func (p *planner) haAfter() []*Step {
	switch p.h.HA {
	case "sc22":
		s := p.haCLI("ha.sc22.reinstall", "set up the Sun Cluster 2.2 agent again (5.2 deprecates SC 2.2: plan a move to SC 3.x)",
			[]string{"hareg", "-r", sc22Service}, []string{"hareg", "-y", sc22Service})
		s.check = func(ctx context.Context) (bool, error) {
			st, err := sc22State(ctx)
			return st == "on", err
		}
		s.do = sc22On
		s.verify = func(ctx context.Context) error {
			st, err := sc22State(ctx)
			if err == nil && st != "on" {
				err = fmt.Errorf("hareg reports %s %q after hareg -r and -y, want on", sc22Service, st)
			}
			return err
		}
		return []*Step{s}
	case "vcs":
		var cmds []string
		for _, d := range p.h.HADeps {
			if parent, child, ok := splitDep(d); ok {
				cmds = append(cmds, strings.Join([]string{"hares", "-link", parent, child}, " "))
			}
		}
		for _, a := range p.vcsOnline() {
			cmds = append(cmds, strings.Join(a, " "))
		}
		s := &Step{ID: "ha.vcs.relink", Title: "rebuild the resource dependency tree, enable the resources and bring them online", Commands: cmds}
		s.do = p.vcsBack
		s.verify = func(ctx context.Context) error {
			if err := p.vcsLinksAre(ctx, true); err != nil {
				return err
			}
			return vcsWant(ctx, map[string]string{vcsGroup: "ONLINE", "logical_IP": "ONLINE", "mountshared": "ONLINE", "mail": "ONLINE"})
		}
		return []*Step{s}
	case "sc3":
		on := p.haCLI("ha.sc3.on", "enable the SUNW.ims resource ims-rs again: the cluster monitors the upgraded servers",
			[]string{"scswitch", "-e", "-j", sc3Resource})
		on.check = func(ctx context.Context) (bool, error) {
			st, err := sc3ResourceState(ctx)
			return err == nil && strings.EqualFold(st, "Online"), err
		}
		on.verify = func(ctx context.Context) error {
			st, err := sc3ResourceState(ctx)
			if err == nil && !strings.EqualFold(st, "Online") {
				err = fmt.Errorf("scstat -g reports %s %s after scswitch -e, want Online", sc3Resource, st)
			}
			return err
		}
		return []*Step{on}
	}
	return nil
}
