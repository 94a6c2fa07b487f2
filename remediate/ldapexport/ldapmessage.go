package ldapexport

// The LDAP messages of a search, decoded in place from a berStream
// (LDAPMessage, LDAPResult, SearchResultEntry, the paged-results cookie)
// and the SearchRequest encoded.

import (
	"errors"
	"fmt"

	"github.com/go-ldap/ldap/v3"
)

// ldapMessage is one decoded LDAPMessage; its slices point into the
// stream's buffer.
type ldapMessage struct {
	id       int64
	op       byte   // protocolOp identifier octet
	body     []byte // protocolOp contents
	controls []byte // [0] Controls contents; nil when absent
}

func parseLDAPMessage(b []byte) (m ldapMessage, err error) {
	c, rest, err := berExpect(b, berInteger, "message ID")
	if err != nil {
		return m, err
	}
	if m.id, err = berInt(c); err != nil {
		return m, err
	}
	if m.op, m.body, rest, err = berElem(rest); err != nil {
		return m, fmt.Errorf("protocol operation: %w", err)
	}
	if len(rest) > 0 {
		tag, c, _, err := berElem(rest)
		if err != nil {
			return m, fmt.Errorf("controls: %w", err)
		}
		if tag == ldapControlsTag {
			m.controls = c
		}
	}
	return m, nil
}

// ldapResult is an LDAPResult: the body of a SearchResultDone,
// BindResponse or ExtendedResponse.
type ldapResult struct {
	code      int64
	matchedDN []byte
	message   []byte
}

func parseLDAPResult(b []byte) (r ldapResult, err error) {
	tag, c, rest, err := berElem(b)
	if err != nil {
		return r, fmt.Errorf("result code: %w", err)
	}
	if tag != berEnumerated && tag != berInteger {
		return r, malformed("result code has tag 0x%02x", tag)
	}
	if r.code, err = berInt(c); err != nil {
		return r, err
	}
	if r.matchedDN, rest, err = berExpect(rest, berOctetString, "matched DN"); err != nil {
		return r, err
	}
	if r.message, _, err = berExpect(rest, berOctetString, "diagnostic message"); err != nil {
		return r, err
	}
	return r, nil
}

// err is nil for success and otherwise the same *ldap.Error go-ldap
// returns, so that callers can test ldap.IsErrorWithCode.
func (r ldapResult) err() error {
	if r.code == 0 {
		return nil
	}
	return &ldap.Error{ResultCode: uint16(r.code), MatchedDN: string(r.matchedDN), Err: errors.New(string(r.message))}
}

// rawEntry is a SearchResultEntry whose slices point into the stream's
// buffer; its own slices are reused from entry to entry.
type rawEntry struct {
	dn    []byte
	attrs []rawAttr
	vals  [][]byte
}

// rawAttr is one attribute of a rawEntry: its values are vals[first:end].
type rawAttr struct {
	name       []byte
	first, end int
}

// parseEntry decodes a SearchResultEntry body into e.
func parseEntry(b []byte, e *rawEntry) error {
	e.attrs, e.vals = e.attrs[:0], e.vals[:0]
	dn, rest, err := berExpect(b, berOctetString, "entry DN")
	if err != nil {
		return err
	}
	e.dn = dn
	list, _, err := berExpect(rest, berSequence, "attribute list")
	if err != nil {
		return err
	}
	for len(list) > 0 {
		var pa []byte
		if pa, list, err = berExpect(list, berSequence, "attribute"); err != nil {
			return err
		}
		name, rest, err := berExpect(pa, berOctetString, "attribute type")
		if err != nil {
			return err
		}
		if !ldifAttrName(name) {
			return malformed("attribute type %q", name)
		}
		tag, set, _, err := berElem(rest)
		if err != nil {
			return fmt.Errorf("values of %s: %w", name, err)
		}
		if tag != berSet && tag != berSequence {
			return malformed("values of %s have tag 0x%02x", name, tag)
		}
		first := len(e.vals)
		for len(set) > 0 {
			var v []byte
			if v, set, err = berExpect(set, berOctetString, "value"); err != nil {
				return err
			}
			e.vals = append(e.vals, v)
		}
		e.attrs = append(e.attrs, rawAttr{name: name, first: first, end: len(e.vals)})
	}
	return nil
}

// ldifAttrName reports whether name can start an LDIF line as it is. RFC
// 4512 descriptors and OIDs with options (letters, digits, '-', '.', ';')
// all can; so can the laxer names of old servers, as long as they are
// printable ASCII without a colon and do not start a comment.
func ldifAttrName(name []byte) bool {
	if len(name) == 0 || name[0] == '#' {
		return false
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return true
}

// pagingCookie returns the cookie of the paged-results control among the
// controls of a SearchResultDone; nil when there is none (the last page, or
// a server that ignored the control).
func pagingCookie(controls []byte) ([]byte, error) {
	for len(controls) > 0 {
		ctl, rest, err := berExpect(controls, berSequence, "control")
		if err != nil {
			return nil, err
		}
		controls = rest
		oid, ctl, err := berExpect(ctl, berOctetString, "control type")
		if err != nil {
			return nil, err
		}
		if string(oid) != ldapOIDPaging {
			continue
		}
		tag, c, ctl, err := berElem(ctl)
		if err == nil && tag == berBoolean {
			tag, c, _, err = berElem(ctl)
		}
		if err != nil {
			return nil, fmt.Errorf("paged results control: %w", err)
		}
		if tag != berOctetString {
			return nil, malformed("paged results control without a value")
		}
		v, _, err := berExpect(c, berSequence, "paged results value")
		if err != nil {
			return nil, err
		}
		if _, v, err = berExpect(v, berInteger, "paged results size"); err != nil {
			return nil, err
		}
		cookie, _, err := berExpect(v, berOctetString, "paged results cookie")
		return cookie, err
	}
	return nil, nil
}

// searchRequest encodes a subtree search (all user attributes when attrs
// is empty) with a non-critical paged-results control, as go-ldap and
// ldapsearch -E pr=N send it.
func searchRequest(id int64, base string, filter []byte, attrs []string, pageSize int, cookie []byte) []byte {
	var al []byte
	for _, a := range attrs {
		al = berAppend(al, berOctetString, []byte(a))
	}
	req := berAppend(nil, berOctetString, []byte(base))
	req = berAppendInt(req, berEnumerated, 2) // wholeSubtree
	req = berAppendInt(req, berEnumerated, 0) // neverDerefAliases
	req = berAppendInt(req, berInteger, 0)    // no size limit
	req = berAppendInt(req, berInteger, 0)    // no time limit
	req = append(req, berBoolean, 1, 0)       // typesOnly FALSE
	req = append(req, filter...)
	req = berAppend(req, berSequence, al)
	value := berAppend(nil, berSequence, berAppendInt(nil, berInteger, int64(pageSize)), berAppend(nil, berOctetString, cookie))
	control := berAppend(nil, berSequence, berAppend(nil, berOctetString, []byte(ldapOIDPaging)), berAppend(nil, berOctetString, value))
	return berAppend(nil, berSequence, berAppendInt(nil, berInteger, id), berAppend(nil, ldapSearchRequest, req),
		berAppend(nil, ldapControlsTag, control))
}
