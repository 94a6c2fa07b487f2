package parse

import "strings"

// QueueFile is a message file name of the MTA queue,
// "<2-char retry counter><id>.<type>".
type QueueFile struct {
	Retry string // "ZZ" never tried, "ZY" tried once, ...
	ID    string
	Type  string // "00" normal, "HELD" held
	// Held is true for type HELD: the message is not eligible for delivery.
	Held bool
	// Temp is true for a name starting with '$': a file being written,
	// not (yet) a message. Retry, ID and Type are empty then.
	Temp bool
}

// QueueFileName parses a queue file name. It reports false for a name that
// is not a message file (no type, a retry counter that is not two letters
// or digits, an empty id).
func QueueFileName(name string) (QueueFile, bool) {
	if strings.HasPrefix(name, "$") {
		if len(name) == 1 {
			return QueueFile{}, false
		}
		return QueueFile{Temp: true}, true
	}
	dot := strings.LastIndexByte(name, '.')
	if dot < 3 || dot == len(name)-1 {
		return QueueFile{}, false
	}
	q := QueueFile{Retry: name[:2], ID: name[2:dot], Type: name[dot+1:]}
	if !alnum(q.Retry) || !alnum(q.Type) || strings.ContainsAny(q.ID, "/\\") {
		return QueueFile{}, false
	}
	q.Held = strings.EqualFold(q.Type, "HELD")
	return q, true
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return s != ""
}
