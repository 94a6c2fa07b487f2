package parse

import (
	"io"
	"strings"
)

// IMTAChannels returns the channel names defined in imta.cnf, in file
// order without duplicates. The file starts with the rewrite rules, which
// end at the first blank line; after that, channel blocks are separated by
// blank lines and the first line of a block, starting in column 1, is
// "<channel> [keywords...]" (the next line is the channel's official host
// name, not a channel). Comment lines ('!') are ignored and neither start
// nor end a block; include lines ('<file') are skipped. The "defaults"
// block sets keywords for all channels and is not a channel itself. Only
// a read error is returned.
func IMTAChannels(r io.Reader) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	inRules := true // before the first blank line
	blockStart := false
	err := eachLine(r, func(_ int, line string) {
		trimmed := strings.TrimSpace(line)
		switch {
		case trimmed == "":
			inRules = false
			blockStart = true
			return
		case trimmed[0] == '!':
			return
		case inRules:
			return
		case !blockStart:
			return
		}
		blockStart = false
		if line[0] == ' ' || line[0] == '\t' || line[0] == '<' {
			return
		}
		name := strings.Fields(line)[0]
		if strings.EqualFold(name, "defaults") || seen[name] {
			return
		}
		seen[name] = true
		out = append(out, name)
	})
	return out, err
}

// Dispatcher parses dispatcher.cnf (and job_controller.cnf, which shares
// its syntax): "KEY=value" lines, "[KEYWORD=name]" section headers such as
// "[SERVICE=SMTP]" or "[POOL=DEFAULT]", '!' or '#' comment lines. The
// result maps a section to its keys; a section is named by its header with
// the keyword upper-cased and spaces around '=' removed ("SERVICE=SMTP"),
// keys before the first header are in section "", and keys are
// upper-cased (the MTA reads them case-insensitively). A duplicate key
// keeps its last value.
//
// A line without '=' or an unterminated header makes Dispatcher return a
// *LineError naming the first such line, together with everything that
// did parse.
func Dispatcher(r io.Reader) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	section := ""
	var fe firstErr
	err := eachLine(r, func(n int, raw string) {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '!' || line[0] == '#' {
			return
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				fe.set(n, "unterminated section header")
				return
			}
			section = sectionName(line[1:end])
			if out[section] == nil {
				out[section] = map[string]string{}
			}
			return
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.ToUpper(strings.TrimSpace(k))
		switch {
		case !ok:
			fe.set(n, `no "=" in key line`)
			return
		case k == "":
			fe.set(n, "empty key")
			return
		}
		if out[section] == nil {
			out[section] = map[string]string{}
		}
		out[section][k] = strings.TrimSpace(v)
	})
	return out, fe.result(err)
}

func sectionName(h string) string {
	k, v, ok := strings.Cut(h, "=")
	if !ok {
		return strings.ToUpper(strings.TrimSpace(h))
	}
	return strings.ToUpper(strings.TrimSpace(k)) + "=" + strings.TrimSpace(v)
}
