package parse

import (
	"io"
	"strconv"
	"strings"
	"unicode"
)

// MsgConf parses msg.conf or local.conf (configutil): `name = "value"` or
// `name = value` lines. Lines whose first non-blank character is '!' or
// '#' are comments; a duplicate name keeps its last value. A quoted value
// is unquoted (Go/C escapes are honoured when valid, otherwise the quotes
// are only stripped), so it may hold spaces.
//
// A line without '=', with an empty name, or with an unterminated quote
// makes MsgConf return a *LineError naming the first such line, together
// with every line that did parse.
func MsgConf(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	var fe firstErr
	err := eachLine(r, func(n int, raw string) {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '!' || line[0] == '#' {
			return
		}
		k, v, ok := strings.Cut(line, "=")
		k = strings.TrimSpace(k)
		v = strings.TrimSpace(v)
		switch {
		case !ok:
			fe.set(n, `no "=" in key line`)
			return
		case k == "":
			fe.set(n, "empty key")
			return
		}
		if strings.HasPrefix(v, `"`) {
			if len(v) < 2 || !strings.HasSuffix(v, `"`) {
				fe.set(n, "unterminated quoted value")
				return
			}
			if u, err := strconv.Unquote(v); err == nil {
				v = u
			} else {
				v = v[1 : len(v)-1]
			}
		}
		out[k] = v
	})
	return out, fe.result(err)
}

// KeyColonValue parses "key: value" lines (adm.conf). Values may contain
// colons (LDAP URLs); only the first one separates. '#' starts a comment
// line; a duplicate key keeps its last value. A non-comment line without
// ':' or with an empty key makes it return a *LineError for the first such
// line, together with every line that did parse.
func KeyColonValue(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	var fe firstErr
	err := eachLine(r, func(n int, raw string) {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			return
		}
		k, v, ok := strings.Cut(line, ":")
		k = strings.TrimSpace(k)
		switch {
		case !ok:
			fe.set(n, `no ":" in key line`)
			return
		case k == "":
			fe.set(n, "empty key")
			return
		}
		out[k] = strings.TrimSpace(v)
	})
	return out, fe.result(err)
}

// Magnus parses magnus.conf: "Directive value" lines, the directive being
// the first word and the value the rest of the line, trimmed. '#' starts a
// comment line; a directive that repeats (Init) keeps its last value. Only
// a read error is returned: every other line is a directive.
func Magnus(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	err := eachLine(r, func(_ int, raw string) {
		line := strings.TrimSpace(raw)
		if line == "" || line[0] == '#' {
			return
		}
		i := strings.IndexFunc(line, unicode.IsSpace)
		if i < 0 {
			out[line] = ""
			return
		}
		out[line[:i]] = strings.TrimSpace(line[i:])
	})
	return out, err
}

// Properties parses a Java properties file (servlets.properties and its
// ".nda" copy): "key=value", "key: value" or "key value"; '#' and '!'
// start comment lines; a line ending in an odd number of backslashes
// continues on the next. Escapes other than the continuation are kept as
// written. Only a read error is returned.
func Properties(r io.Reader) (map[string]string, error) {
	out := map[string]string{}
	var pending strings.Builder
	cont := false
	add := func(line string) {
		i := strings.IndexAny(line, "=: \t")
		if i < 0 {
			out[line] = ""
			return
		}
		k := line[:i]
		v := strings.TrimLeft(line[i:], " \t")
		if v != "" && (v[0] == '=' || v[0] == ':') {
			v = v[1:]
		}
		out[k] = strings.TrimSpace(v)
	}
	err := eachLine(r, func(_ int, raw string) {
		line := strings.TrimLeft(raw, " \t\f")
		if !cont && (line == "" || line[0] == '#' || line[0] == '!') {
			return
		}
		cont = false
		if trailingBackslashes(line)%2 == 1 {
			pending.WriteString(line[:len(line)-1])
			cont = true
			return
		}
		pending.WriteString(line)
		add(pending.String())
		pending.Reset()
	})
	if pending.Len() > 0 {
		add(pending.String())
	}
	return out, err
}

func trailingBackslashes(s string) int {
	n := 0
	for i := len(s) - 1; i >= 0 && s[i] == '\\'; i-- {
		n++
	}
	return n
}
