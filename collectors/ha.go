package collectors

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

func init() { register(facts.CollectorHA, collectHA) }

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
//   - Sun Cluster 3.x, `scstat -g`: lines "Group: <name> <node> <state>"
//     (also "Resource Group: ..."), same keys as VCS; `pkginfo SUNWscims`
//     exit status 0 sets AgentPackage.
//
// Every command runs with a timeout; a command that fails or times out is
// listed as partial, with the kind still reported.
func collectHA(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	path := t.Path
	if path == "" {
		path = os.Getenv("PATH")
	}
	h := &facts.HA{Kind: HANone}
	found := map[string]string{}
	for _, tool := range []string{"hareg", "hagrp", "hares", "scrgadm", "scstat"} {
		if p := lookPathIn(tool, path); p != "" {
			found[tool] = p
			h.Tools = append(h.Tools, tool)
		}
	}
	var partial []string
	var raw bytes.Buffer
	run := func(tool string, args ...string) (string, bool) {
		out, err := runTool(ctx, found[tool], path, args...)
		fmt.Fprintf(&raw, "$ %s\n%s", strings.Join(append([]string{tool}, args...), " "), out)
		if err != nil {
			partial = append(partial, err.Error())
			return out, false
		}
		return out, true
	}
	switch {
	case found["scrgadm"] != "" && found["scstat"] != "":
		h.Kind = HASC3
		if out, ok := run("scstat", "-g"); ok {
			h.Services = parseGroupStates(out, parseSC3Line)
		}
		if p := lookPathIn("pkginfo", path); p != "" {
			_, err := runTool(ctx, p, path, "SUNWscims")
			var ee *exec.ExitError
			switch {
			case err == nil:
				h.AgentPackage = true
			case errors.As(err, &ee): // not installed
			default:
				partial = append(partial, err.Error())
			}
		} else {
			partial = append(partial, "pkginfo not found: cluster agent package SUNWscims not checked")
		}
	case found["hagrp"] != "" && found["hares"] != "":
		h.Kind = HAVCS
		if out, ok := run("hagrp", "-state", vcsGroup); ok {
			h.Services = parseGroupStates(out, parseVCSStateLine)
		}
		if out, ok := run("hares", "-dep"); ok {
			h.Dependencies = parseVCSDeps(out)
		}
	case found["hareg"] != "":
		h.Kind = HASC22
		if out, ok := run("hareg"); ok {
			h.Services = parseHareg(out)
		}
	}
	if raw.Len() > haRawLimit {
		raw.Truncate(haRawLimit)
	}
	h.Raw = raw.String()
	s.HA = h
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

// runTool runs a cluster CLI with a timeout, in its own process group so
// that a timeout kills whatever it started too.
func runTool(ctx context.Context, exe, path string, args ...string) (string, error) {
	name := strings.Join(append([]string{filepath.Base(exe)}, args...), " ")
	ctx, cancel := context.WithTimeout(ctx, haCommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, exe, args...)
	cmd.Env = append(os.Environ(), "PATH="+path, "LC_ALL=C")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return out.String(), fmt.Errorf("%s: timed out", name)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.IndexByte(msg, '\n'); i >= 0 {
			msg = msg[:i]
		}
		if msg != "" {
			return out.String(), fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return out.String(), fmt.Errorf("%s: %w", name, err)
	}
	return out.String(), nil
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
