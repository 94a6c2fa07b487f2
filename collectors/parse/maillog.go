package parse

import (
	"strconv"
	"strings"
	"time"
)

// Record is one line of the MTA log mail.log_current.
type Record struct {
	Time       time.Time
	Source     string // channel the message came from
	Dest       string // channel it was queued to; "" on dequeue lines
	Code       string // entry code: E, D, R, J, Q, B, ...
	Size       int64  // size in blocks, as logged
	From       string
	OrigTo     string // original recipient, e.g. "rfc822;marlowe@siroe.com"
	ActiveTo   string // recipient after rewriting
	Diagnostic string // the rest of the line, inner spacing kept
}

// IsError reports whether the record is an error entry: rejected (J),
// returned (R), bad SMTP command (B), or any record whose diagnostic
// contains "Error:".
func (r Record) IsError() bool {
	switch r.Code {
	case "J", "R", "B":
		return true
	}
	return strings.Contains(r.Diagnostic, "Error:")
}

// MailLogTimeLayout is the date and time of a mail.log_current record;
// the hundredths of a second that follow the seconds are accepted too.
const MailLogTimeLayout = "2-Jan-2006 15:04:05"

// MailLogLine parses one mail.log_current record, reading its time in the
// host's local time zone (the log carries none). It reports false for a
// line that is not a record.
func MailLogLine(line string) (Record, bool) { return MailLogLineIn(line, time.Local) }

// MailLogLineIn is MailLogLine with the time read in loc.
//
// Fields are separated by runs of spaces: date, time, source channel,
// destination channel (absent on dequeue lines, so the fields that follow
// shift left), entry code, size, from, original to, active to, and an
// optional diagnostic that keeps its inner spacing.
func MailLogLineIn(line string, loc *time.Location) (Record, bool) {
	toks := fieldSpans(line, 10)
	if len(toks) < 8 {
		return Record{}, false
	}
	word := func(i int) string { return line[toks[i][0]:toks[i][1]] }
	t, err := time.ParseInLocation(MailLogTimeLayout, word(0)+" "+word(1), loc)
	if err != nil {
		return Record{}, false
	}
	rec := Record{Time: t, Source: word(2)}
	i := 3
	switch {
	case isEntryCode(word(3)) && isSize(word(4)):
		// dequeue line: no destination channel
	case len(toks) >= 9 && isEntryCode(word(4)) && isSize(word(5)):
		rec.Dest = word(3)
		i = 4
	default:
		return Record{}, false
	}
	if len(toks) < i+5 {
		return Record{}, false
	}
	rec.Code = word(i)
	rec.Size, err = strconv.ParseInt(word(i+1), 10, 64)
	if err != nil {
		return Record{}, false
	}
	rec.From, rec.OrigTo, rec.ActiveTo = word(i+2), word(i+3), word(i+4)
	rec.Diagnostic = strings.TrimSpace(line[toks[i+4][1]:])
	return rec, true
}

// fieldSpans returns the [start, end) offsets of the first max
// space-or-tab separated fields of s.
func fieldSpans(s string, max int) [][2]int {
	var out [][2]int
	start := -1
	for i := 0; i <= len(s) && len(out) < max; i++ {
		blank := i == len(s) || s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n'
		switch {
		case blank && start >= 0:
			out = append(out, [2]int{start, i})
			start = -1
		case !blank && start < 0:
			start = i
		}
	}
	return out
}

// isEntryCode reports whether s looks like an entry code: one or two
// upper-case letters.
func isEntryCode(s string) bool {
	if len(s) == 0 || len(s) > 2 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func isSize(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
