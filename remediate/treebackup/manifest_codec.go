// The JSON encoding of a manifest entry line: lossless for non-UTF-8
// names, with a fast path for the common entry in both directions.

package treebackup

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"time"
	"unicode/utf8"
)

// manifestEntryJSON is ManifestEntry on the wire: a path or target that is
// not valid UTF-8 (a Latin-1 file name from an old Solaris host) cannot be
// a JSON string without loss, so it travels base64-encoded instead.
type manifestEntryJSON struct {
	Path       string    `json:"path,omitempty"`
	Path64     string    `json:"path64,omitempty"`
	Type       string    `json:"type"`
	Size       int64     `json:"size"`
	Mode       uint32    `json:"mode"`
	UID        int       `json:"uid"`
	GID        int       `json:"gid"`
	MTime      time.Time `json:"mtime"`
	SHA256     string    `json:"sha256,omitempty"`
	Target     string    `json:"target,omitempty"`
	Target64   string    `json:"target64,omitempty"`
	HardLink   string    `json:"hardlink,omitempty"`
	HardLink64 string    `json:"hardlink64,omitempty"`
}

// splitUTF8 returns s as (plain, "") when it is valid UTF-8, else ("", base64).
func splitUTF8(s string) (string, string) {
	if utf8.ValidString(s) {
		return s, ""
	}
	return "", base64.StdEncoding.EncodeToString([]byte(s))
}

// joinUTF8 is the inverse of splitUTF8.
func joinUTF8(plain, b64 string) (string, error) {
	if b64 == "" {
		return plain, nil
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	return string(b), err
}

// MarshalJSON encodes the entry losslessly (see manifestEntryJSON).
func (e ManifestEntry) MarshalJSON() ([]byte, error) {
	w := manifestEntryJSON{Type: e.Type, Size: e.Size, Mode: e.Mode, UID: e.UID, GID: e.GID,
		MTime: e.MTime.UTC(), SHA256: e.SHA256}
	w.Path, w.Path64 = splitUTF8(e.Path)
	w.Target, w.Target64 = splitUTF8(e.Target)
	w.HardLink, w.HardLink64 = splitUTF8(e.HardLink)
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON wrote.
func (e *ManifestEntry) UnmarshalJSON(b []byte) error {
	var w manifestEntryJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	var err1, err2, err3 error
	*e = ManifestEntry{Type: w.Type, Size: w.Size, Mode: w.Mode, UID: w.UID, GID: w.GID,
		MTime: w.MTime, SHA256: w.SHA256}
	e.Path, err1 = joinUTF8(w.Path, w.Path64)
	e.Target, err2 = joinUTF8(w.Target, w.Target64)
	e.HardLink, err3 = joinUTF8(w.HardLink, w.HardLink64)
	return errors.Join(err1, err2, err3)
}

// appendManifestEntry appends the JSON line of e (no newline) to b: what
// json.Marshal(e) gives, byte for byte, written directly for the common
// entry (plain ASCII names, a time json can encode); any other goes
// through json.Marshal. A manifest of 10⁵ entries was a tenth of a
// backup's CPU time through reflection.
func appendManifestEntry(b []byte, e *ManifestEntry) ([]byte, error) {
	if e.Path == "" || !plainJSON(e.Path) || !plainJSON(e.Type) || !plainJSON(e.SHA256) ||
		!plainJSON(e.Target) || !plainJSON(e.HardLink) || e.MTime.UTC().Year() < 0 || e.MTime.UTC().Year() > 9999 {
		j, err := json.Marshal(e)
		return append(b, j...), err
	}
	b = append(b, `{"path":"`...)
	b = append(b, e.Path...)
	b = append(b, `","type":"`...)
	b = append(b, e.Type...)
	b = append(b, `","size":`...)
	b = strconv.AppendInt(b, e.Size, 10)
	b = append(b, `,"mode":`...)
	b = strconv.AppendUint(b, uint64(e.Mode), 10)
	b = append(b, `,"uid":`...)
	b = strconv.AppendInt(b, int64(e.UID), 10)
	b = append(b, `,"gid":`...)
	b = strconv.AppendInt(b, int64(e.GID), 10)
	b = append(b, `,"mtime":"`...)
	b = e.MTime.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, '"')
	for _, f := range [...]struct{ key, v string }{{`,"sha256":"`, e.SHA256}, {`,"target":"`, e.Target}, {`,"hardlink":"`, e.HardLink}} {
		if f.v != "" {
			b = append(b, f.key...)
			b = append(b, f.v...)
			b = append(b, '"')
		}
	}
	return append(b, '}'), nil
}

// plainJSON reports whether s is its own JSON string body as json.Marshal
// writes it: printable ASCII without quote, backslash or the HTML
// characters it escapes.
func plainJSON(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c < 0x20 || c > 0x7e, c == '"', c == '\\', c == '<', c == '>', c == '&':
			return false
		}
	}
	return true
}

// parseManifestEntry decodes one entry line into e (which must be zero).
// The layout appendManifestEntry writes is read directly; anything else
// (escapes, base64 names, other key orders, damage) goes to json.Unmarshal,
// so the result is always the one json.Unmarshal would give.
func parseManifestEntry(line []byte, e *ManifestEntry) error {
	if parseEntryFast(line, e) {
		return nil
	}
	*e = ManifestEntry{}
	return json.Unmarshal(line, e)
}

// entryScanner reads the fixed layout of an entry line.
type entryScanner struct {
	b  []byte
	ok bool
}

// lit consumes s.
func (p *entryScanner) lit(s string) {
	if p.ok && len(p.b) >= len(s) && string(p.b[:len(s)]) == s {
		p.b = p.b[len(s):]
		return
	}
	p.ok = false
}

// str consumes a string body up to its closing quote: printable ASCII, no
// backslash (json.Unmarshal gives such a body back as is).
func (p *entryScanner) str() string {
	if !p.ok {
		return ""
	}
	for i, c := range p.b {
		switch {
		case c == '"':
			s := string(p.b[:i])
			p.b = p.b[i+1:]
			return s
		case c < 0x20 || c > 0x7e || c == '\\':
			p.ok = false
			return ""
		}
	}
	p.ok = false
	return ""
}

// int consumes a JSON integer (no leading zeros, no fraction or exponent).
func (p *entryScanner) int(bits int, unsigned bool) int64 {
	if !p.ok {
		return 0
	}
	i := 0
	if !unsigned && i < len(p.b) && p.b[i] == '-' {
		i++
	}
	start := i
	for i < len(p.b) && p.b[i] >= '0' && p.b[i] <= '9' {
		i++
	}
	if i == start || p.b[start] == '0' && i-start > 1 {
		p.ok = false
		return 0
	}
	var v int64
	var err error
	if unsigned {
		var u uint64
		u, err = strconv.ParseUint(string(p.b[:i]), 10, bits)
		v = int64(u)
	} else {
		v, err = strconv.ParseInt(string(p.b[:i]), 10, bits)
	}
	if err != nil {
		p.ok = false
		return 0
	}
	p.b = p.b[i:]
	return v
}

// parseEntryFast reads the layout appendManifestEntry writes; false for
// any other line.
func parseEntryFast(line []byte, e *ManifestEntry) bool {
	p := entryScanner{b: line, ok: true}
	p.lit(`{"path":"`)
	e.Path = p.str()
	p.lit(`,"type":"`)
	e.Type = p.str()
	p.lit(`,"size":`)
	e.Size = p.int(64, false)
	p.lit(`,"mode":`)
	e.Mode = uint32(p.int(32, true))
	p.lit(`,"uid":`)
	e.UID = int(p.int(strconv.IntSize, false))
	p.lit(`,"gid":`)
	e.GID = int(p.int(strconv.IntSize, false))
	p.lit(`,"mtime":`)
	if !p.ok || len(p.b) == 0 || p.b[0] != '"' {
		return false
	}
	end := bytes.IndexByte(p.b[1:], '"')
	if end < 0 || e.MTime.UnmarshalJSON(p.b[:end+2]) != nil {
		return false
	}
	p.b = p.b[end+2:]
	for _, f := range [...]struct {
		key string
		v   *string
	}{{`,"sha256":"`, &e.SHA256}, {`,"target":"`, &e.Target}, {`,"hardlink":"`, &e.HardLink}} {
		if p.ok && bytes.HasPrefix(p.b, []byte(f.key)) {
			p.lit(f.key)
			if *f.v = p.str(); *f.v == "" {
				return false // omitempty never writes an empty one
			}
		}
	}
	p.lit("}")
	return p.ok && len(p.b) == 0 && e.Path != ""
}
