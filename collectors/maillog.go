package collectors

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/collectors/facts"
	"github.com/msguard/msguard/collectors/parse"
)

// maxLogLine is the longest mail.log_current line parsed; a longer line
// is counted as unparsed and skipped, never fatal.
const maxLogLine = 1 << 20

// mailLogLocation is the time zone mail.log_current is written in: the
// host's own.
var mailLogLocation = time.Local

// collectMailLog streams INST/log/imta/mail.log_current: counts per entry
// code, the time span, unparsed lines, and the error records (J, R, B, or
// "Error:" in the diagnostic) at or after opts.MailLogSince. A missing log
// is an error: the postflight check cannot pass without it.
func collectMailLog(ctx context.Context, t *Target, s *facts.Snapshot) ([]string, error) {
	if t.InstDir == "" {
		return nil, fmt.Errorf("read mail.log_current: no messaging instance")
	}
	path := filepath.Join(t.InstDir, "log", "imta", "mail.log_current")
	ml, err := t.host.MailLog(ctx, path, t.MailLogSince)
	if err != nil {
		return nil, err
	}
	s.MailLog = ml
	return nil, nil
}

// scanMailLog summarises one MTA log file without holding it in memory.
func scanMailLog(ctx context.Context, path string, since time.Time) (*facts.MailLog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open mail.log_current: %w", err)
	}
	defer f.Close()

	ml := &facts.MailLog{Path: path, Counts: map[string]int64{}}
	if !since.IsZero() {
		ml.Since = &since
	}
	return tallyMailLog(ctx, f, ml, mailLogLocation, since, 1)
}

// tallyMailLog adds the records of r to ml: records before since (when
// set) are left out; times are read in loc; firstLine is the number of r's
// first line in the whole log, for the error records' line numbers.
func tallyMailLog(ctx context.Context, r io.Reader, ml *facts.MailLog, loc *time.Location, since time.Time, firstLine int64) (*facts.MailLog, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLogLine)
	long := false
	sc.Split(longLineSplit(&long))
	n := firstLine - 1
	for sc.Scan() {
		n++
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("read mail.log_current line %d: %w", n, err)
			}
		}
		if long {
			ml.Unparsed++
			continue
		}
		rec, ok := parse.MailLogLineIn(sc.Text(), loc)
		if !ok {
			if len(bytes.TrimSpace(sc.Bytes())) > 0 {
				ml.Unparsed++
			}
			continue
		}
		if !since.IsZero() && rec.Time.Before(since) {
			continue
		}
		addMailLogRecord(ml, rec, n)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mail.log_current line %d: %w", n+1, err)
	}
	return ml, nil
}

// longLineSplit splits lines like bufio.ScanLines, but a line longer than
// maxLogLine does not stop the scan: its first maxLogLine bytes are
// returned with *long set, and the rest of it is skipped.
func longLineSplit(long *bool) bufio.SplitFunc {
	skipping := false
	return func(data []byte, atEOF bool) (int, []byte, error) {
		*long = false
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			if skipping {
				skipping = false
				return i + 1, nil, nil
			}
			return i + 1, bytes.TrimSuffix(data[:i], []byte("\r")), nil
		}
		switch {
		case atEOF && len(data) == 0:
			return 0, nil, nil
		case skipping && (atEOF || len(data) >= maxLogLine):
			return len(data), nil, nil
		case atEOF:
			return len(data), bytes.TrimSuffix(data, []byte("\r")), nil
		case len(data) >= maxLogLine:
			skipping, *long = true, true
			return len(data), data[:maxLogLine], nil
		}
		return 0, nil, nil
	}
}

// addMailLogRecord tallies one parsed record found at line n: counts by
// code, first and last time, and the error records (up to MaxLogErrors).
func addMailLogRecord(ml *facts.MailLog, rec parse.Record, n int64) {
	ml.Records++
	ml.Counts[rec.Code]++
	if ml.First == nil || rec.Time.Before(*ml.First) {
		first := rec.Time
		ml.First = &first
	}
	if ml.Last == nil || rec.Time.After(*ml.Last) {
		last := rec.Time
		ml.Last = &last
	}
	if rec.IsError() {
		ml.ErrorCount++
		if len(ml.Errors) < facts.MaxLogErrors {
			ml.Errors = append(ml.Errors, facts.LogError{
				Line: n, Time: rec.Time, Code: rec.Code, Source: rec.Source,
				Dest: rec.Dest, Diagnostic: rec.Diagnostic,
			})
		}
	}
}
