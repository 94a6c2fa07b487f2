package collectors

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// logTime is a mail.log_current time in the zone the collector reads it in.
func logTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02 15:04:05.00", s, mailLogLocation)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

func TestCollectMailLog(t *testing.T) {
	type wantErr struct {
		line int64
		code string
	}
	tests := []struct {
		name       string
		since      string // "" = all
		records    int64
		counts     map[string]int64
		unparsed   int64
		first      string
		last       string
		errors     []wantErr
		errorCount int64
	}{
		{
			name: "whole file", records: 6, unparsed: 1,
			counts: map[string]int64{"Q": 1, "E": 2, "D": 1, "J": 1, "R": 1},
			first:  "1998-01-15 10:31:10.37", last: "1998-01-20 09:00:00.00",
			errors:     []wantErr{{1, "Q"}, {6, "J"}, {7, "R"}},
			errorCount: 3,
		},
		{
			name: "since the restart", since: "1998-01-19 19:17:00.00", records: 4, unparsed: 1,
			counts: map[string]int64{"D": 1, "J": 1, "R": 1, "E": 1},
			first:  "1998-01-19 19:17:01.16", last: "1998-01-20 09:00:00.00",
			errors:     []wantErr{{6, "J"}, {7, "R"}},
			errorCount: 2,
		},
		{
			name: "since after everything", since: "2002-01-01 00:00:00.00", unparsed: 1,
			counts: map[string]int64{},
		},
	}
	b := newRoot(t).standard().fixture("msg-budgie/log/imta/mail.log_current", "maillog/mail.log_current")
	target := resolve(t, Options{ServerRoot: b.root})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target.MailLogSince = time.Time{}
			if tt.since != "" {
				target.MailLogSince = logTime(t, tt.since)
			}
			s := &facts.Snapshot{}
			if _, err := collectMailLog(context.Background(), target, s); err != nil {
				t.Fatal(err)
			}
			ml := s.MailLog
			if ml.Records != tt.records || ml.Unparsed != tt.unparsed || ml.ErrorCount != tt.errorCount {
				t.Errorf("records, unparsed, errors = %d, %d, %d; want %d, %d, %d",
					ml.Records, ml.Unparsed, ml.ErrorCount, tt.records, tt.unparsed, tt.errorCount)
			}
			if !reflect.DeepEqual(ml.Counts, tt.counts) {
				t.Errorf("Counts = %v; want %v", ml.Counts, tt.counts)
			}
			if tt.first == "" {
				if ml.First != nil || ml.Last != nil {
					t.Errorf("First, Last = %v, %v; want none", ml.First, ml.Last)
				}
			} else if ml.First == nil || !ml.First.Equal(logTime(t, tt.first)) || !ml.Last.Equal(logTime(t, tt.last)) {
				t.Errorf("First, Last = %v, %v; want %s, %s", ml.First, ml.Last, tt.first, tt.last)
			}
			if (ml.Since != nil) != (tt.since != "") {
				t.Errorf("Since = %v; want set: %v", ml.Since, tt.since != "")
			}
			var got []wantErr
			for _, e := range ml.Errors {
				got = append(got, wantErr{e.Line, e.Code})
			}
			if !reflect.DeepEqual(got, tt.errors) {
				t.Errorf("error records = %v; want %v", got, tt.errors)
			}
		})
	}

	// The details of one error record.
	s := &facts.Snapshot{}
	target.MailLogSince = time.Time{}
	if _, err := collectMailLog(context.Background(), target, s); err != nil {
		t.Fatal(err)
	}
	want := facts.LogError{Line: 1, Time: logTime(t, "1998-01-15 10:31:10.37"), Code: "Q", Source: "tcp_local",
		Diagnostic: "TCP active open: Failed connect()    Error: no route to host"}
	if got := s.MailLog.Errors[0]; !got.Time.Equal(want.Time) || got.Line != want.Line || got.Code != want.Code ||
		got.Source != want.Source || got.Dest != "" || got.Diagnostic != want.Diagnostic {
		t.Errorf("Errors[0] = %+v; want %+v", got, want)
	}
	if got := s.MailLog.Errors[1]; got.Dest != "tcp_local" || got.Diagnostic != "550 5.7.1 relaying not allowed" {
		t.Errorf("Errors[1] = %+v", got)
	}
}

func TestCollectMailLogLarge(t *testing.T) {
	b := newRoot(t).standard()
	good := "20-Jan-1998 08:00:05.00 ims-ms l R 2 a@b rfc822;c@d c@d bounced\n"
	var log strings.Builder
	log.WriteString(good)
	log.WriteString(strings.Repeat("x", maxLogLine+10) + "\n") // a line too long to parse
	for i := 0; i < facts.MaxLogErrors+5; i++ {
		log.WriteString(good)
	}
	log.WriteString(strings.Repeat("y", maxLogLine*2)) // a long last line without a newline
	b.file("msg-budgie/log/imta/mail.log_current", log.String(), 0o644)
	s := &facts.Snapshot{}
	if _, err := collectMailLog(context.Background(), resolve(t, Options{ServerRoot: b.root}), s); err != nil {
		t.Fatal(err)
	}
	ml := s.MailLog
	if ml.Records != facts.MaxLogErrors+6 || ml.ErrorCount != ml.Records || ml.Unparsed != 2 {
		t.Errorf("records, errors, unparsed = %d, %d, %d; want %d, %d, 2", ml.Records, ml.ErrorCount, ml.Unparsed,
			facts.MaxLogErrors+6, facts.MaxLogErrors+6)
	}
	if len(ml.Errors) != facts.MaxLogErrors {
		t.Errorf("kept %d error records; want %d", len(ml.Errors), facts.MaxLogErrors)
	}
	if ml.Errors[1].Line != 3 {
		t.Errorf("second error on line %d; want 3 (the long line counts as one)", ml.Errors[1].Line)
	}
}

func TestCollectMailLogErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func(b *rootBuilder)
		want  string
	}{
		{"missing log", func(b *rootBuilder) { b.standard() }, "open mail.log_current"},
		{"no instance", func(b *rootBuilder) { b.dir("admin-serv") }, "no messaging instance"},
		{"log is a directory", func(b *rootBuilder) { b.standard().dir("msg-budgie/log/imta/mail.log_current") }, "read mail.log_current"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newRoot(t)
			tt.build(b)
			s := &facts.Snapshot{}
			_, err := collectMailLog(context.Background(), resolve(t, Options{ServerRoot: b.root}), s)
			if err == nil || !strings.Contains(err.Error(), tt.want) || s.MailLog != nil {
				t.Errorf("err = %v, facts %v; want %q and no facts", err, s.MailLog, tt.want)
			}
		})
	}
	// A cancelled collection stops.
	b := newRoot(t).standard()
	b.file("msg-budgie/log/imta/mail.log_current", strings.Repeat("junk\n", 10000), 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := scanMailLog(ctx, filepath.Join(b.root, "msg-budgie/log/imta/mail.log_current"), time.Time{}); err == nil {
		t.Error("scanMailLog on a cancelled context: no error")
	}
}
