package rehearse

import (
	"fmt"
	"strings"
)

// schemaDef is one attribute type or object class, as an RFC 4512
// description after its slapd.conf keyword ("attributetype" or
// "objectclass").
type schemaDef struct {
	Line  string   // the slapd.conf line
	Kind  string   // "attributetype" or "objectclass"
	OID   string   // numeric OID (or a name-OID), lower case
	Names []string // lower case
	Sups  []string // superiors, lower case
}

// parseSchemaDef reads "KIND ( OID NAME ... SUP ... )".
func parseSchemaDef(line string) (schemaDef, error) {
	kind, desc, _ := strings.Cut(strings.TrimSpace(line), " ")
	d := schemaDef{Line: line, Kind: strings.ToLower(kind)}
	if d.Kind != "attributetype" && d.Kind != "objectclass" {
		return d, fmt.Errorf("schema line %q: not an attribute type or object class", line)
	}
	toks := schemaTokens(desc)
	if len(toks) < 3 || toks[0] != "(" || toks[len(toks)-1] != ")" {
		return d, fmt.Errorf("%s %q: not an RFC 4512 description", d.Kind, desc)
	}
	toks = toks[1 : len(toks)-1]
	d.OID = strings.ToLower(toks[0])
	// list reads a "( a $ b )" list or a single value starting at toks[i].
	list := func(i int) (vals []string, next int) {
		if i >= len(toks) {
			return nil, i
		}
		if toks[i] != "(" {
			return []string{strings.ToLower(strings.Trim(toks[i], "'"))}, i + 1
		}
		for i++; i < len(toks) && toks[i] != ")"; i++ {
			if toks[i] != "$" {
				vals = append(vals, strings.ToLower(strings.Trim(toks[i], "'")))
			}
		}
		return vals, i + 1
	}
	for i := 1; i < len(toks); {
		switch strings.ToUpper(toks[i]) {
		case "NAME":
			d.Names, i = list(i + 1)
		case "SUP":
			d.Sups, i = list(i + 1)
		default:
			i++
		}
	}
	return d, nil
}

// schemaTokens splits an RFC 4512 description into parentheses, dollar
// signs, quoted strings (quotes kept) and bare words.
func schemaTokens(s string) []string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(' || c == ')' || c == '$':
			out = append(out, string(c))
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				out = append(out, s[i:])
				return out
			}
			out = append(out, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\n\r()$'", rune(s[j])) {
				j++
			}
			out = append(out, s[i:j])
			i = j
		}
	}
	return out
}

// missingSchema is what of production's schema the scratch server does not
// know (neither by OID nor by any name): attribute types first, then
// object classes, each after the superiors it adds.
func missingSchema(production []string, known map[string]bool) ([]schemaDef, error) {
	var missing []schemaDef
	for _, l := range production {
		if strings.TrimSpace(l) == "" {
			continue
		}
		d, err := parseSchemaDef(l)
		if err != nil {
			return nil, err
		}
		isKnown := known[d.Kind+":"+d.OID]
		for _, n := range d.Names {
			isKnown = isKnown || known[d.Kind+":"+n]
		}
		if !isKnown {
			missing = append(missing, d)
		}
	}
	// Order: a definition after every superior of its own kind it adds.
	var out []schemaDef
	placed := map[string]bool{}
	for _, kind := range []string{"attributetype", "objectclass"} {
		var pending []schemaDef
		for _, d := range missing {
			if d.Kind == kind {
				pending = append(pending, d)
			}
		}
		adds := map[string]bool{}
		for _, d := range pending {
			adds[d.OID] = true
			for _, n := range d.Names {
				adds[n] = true
			}
		}
		for len(pending) > 0 {
			var rest []schemaDef
			for _, d := range pending {
				ready := true
				for _, s := range d.Sups {
					ready = ready && (!adds[s] || placed[kind+":"+s])
				}
				if !ready {
					rest = append(rest, d)
					continue
				}
				out = append(out, d)
				placed[kind+":"+d.OID] = true
				for _, n := range d.Names {
					placed[kind+":"+n] = true
				}
			}
			if len(rest) == len(pending) {
				return nil, fmt.Errorf("%s %s: its superiors form a cycle", kind, schemaName(rest[0]))
			}
			pending = rest
		}
	}
	return out, nil
}

// knownSchema indexes a server's own definitions by kind and OID or name.
func knownSchema(lines []string) map[string]bool {
	known := map[string]bool{}
	for _, l := range lines {
		d, err := parseSchemaDef(l)
		if err != nil {
			continue
		}
		known[d.Kind+":"+d.OID] = true
		for _, n := range d.Names {
			known[d.Kind+":"+n] = true
		}
	}
	return known
}

// schemaName names a definition in an error: its first name, else its OID.
func schemaName(d schemaDef) string {
	if len(d.Names) > 0 {
		return d.Names[0]
	}
	return d.OID
}
