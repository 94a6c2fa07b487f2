package media

import (
	"fmt"
	"os"
	"strings"

	"github.com/msguard/msguard/sim"
)

// infValue returns key of [section] in a Netscape-style .inf file (INI,
// "Key= value" with or without spaces, comments, CRLF), or "" when absent.
func infValue(data, section, key string) string {
	cur := ""
	for _, line := range strings.Split(data, "\n") {
		line = strings.TrimSpace(strings.TrimRight(line, "\r"))
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			cur = strings.TrimSpace(line[1 : len(line)-1])
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if ok && strings.EqualFold(cur, section) && strings.EqualFold(strings.TrimSpace(k), key) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// readInstallInf returns ROOT/setup/install.inf, or "" when it is missing.
func readInstallInf(p sim.Paths) string {
	b, err := os.ReadFile(p.InstallInf())
	if err != nil {
		return ""
	}
	return string(b)
}

// componentNames are install.inf Components entries per setup component.
var componentNames = map[int][]string{
	1: {"nsperl", "svrcore", "base"},
	2: {"slapd"},
	3: {"admin"},
	4: {"msg"},
}

// updateComponents adds the chosen components to install.inf [General]
// Components, keeping every other line (passwords included) untouched.
func updateComponents(p sim.Paths, chosen []int) error {
	path := p.InstallInf()
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("update install.inf: %w", err)
	}
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	lines := strings.SplitAfter(string(b), "\n")
	cur, at, general := "", -1, -1
	for i, raw := range lines {
		line := strings.TrimSpace(raw)
		if strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]") {
			cur = strings.TrimSpace(line[1 : len(line)-1])
			if strings.EqualFold(cur, "General") {
				general = i
			}
			continue
		}
		if k, _, ok := strings.Cut(line, "="); ok && strings.EqualFold(cur, "General") && strings.EqualFold(strings.TrimSpace(k), "Components") {
			at = i
		}
	}
	var have []string
	if at >= 0 {
		_, v, _ := strings.Cut(lines[at], "=")
		for _, c := range strings.Split(strings.TrimSpace(v), ",") {
			if c = strings.TrimSpace(c); c != "" {
				have = append(have, c)
			}
		}
	}
	for _, n := range chosen {
		for _, c := range componentNames[n] {
			if !contains(have, c) {
				have = append(have, c)
			}
		}
	}
	eol := "\n"
	if at >= 0 && strings.HasSuffix(lines[at], "\r\n") {
		eol = "\r\n"
	}
	entry := "Components= " + strings.Join(have, ",") + eol
	switch {
	case at >= 0:
		lines[at] = entry
	case general >= 0:
		lines = append(lines[:general+1], append([]string{entry}, lines[general+1:]...)...)
	default:
		lines = append([]string{"[General]\n", entry}, lines...)
	}
	if err := sim.WriteFileAtomic(path, []byte(strings.Join(lines, "")), mode); err != nil {
		return fmt.Errorf("update install.inf: %w", err)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
