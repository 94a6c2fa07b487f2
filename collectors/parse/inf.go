package parse

import (
	"io"
	"strings"
)

// INF parses a Netscape-style .inf file (install.inf, slapd.inf, nda.inf):
// "[Section]" headers and "Key= value" lines, with or without spaces
// around '='. Lines starting with '#' or ';' are comments; keys before the
// first header belong to section "". A duplicate key keeps its last value.
// Names keep their case.
//
// A malformed line (no '=', empty key, unterminated '[') makes INF return
// a *LineError naming the first such line, together with everything that
// did parse.
func INF(r io.Reader) (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	section := ""
	var fe firstErr
	err := eachLine(r, func(n int, raw string) {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' || line[0] == ';' {
			return
		}
		if line[0] == '[' {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				fe.set(n, "unterminated section header")
				return
			}
			section = strings.TrimSpace(line[1:end])
			if out[section] == nil {
				out[section] = map[string]string{}
			}
			return
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
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
