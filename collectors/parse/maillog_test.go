package parse

import (
	"strings"
	"testing"
	"time"
)

func TestMailLogLine(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse("2006-01-02 15:04:05.00", s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	tests := []struct {
		name    string
		line    string
		ok      bool
		want    Record
		isError bool
	}{
		{
			name: "enqueue",
			line: "19-Jan-1998 19:16:57.64 tcp_local ims-ms E 1 adam@sesta.com rfc822;marlowe@siroe.com marlowe@siroe.com",
			ok:   true,
			want: Record{Time: at("1998-01-19 19:16:57.64"), Source: "tcp_local", Dest: "ims-ms", Code: "E", Size: 1,
				From: "adam@sesta.com", OrigTo: "rfc822;marlowe@siroe.com", ActiveTo: "marlowe@siroe.com"},
		},
		{
			name: "dequeue, blank destination",
			line: "19-Jan-1998 19:17:01.16 tcp_local        D 1 adam@sesta.com rfc822;marlowe@siroe.com marlowe@siroe.com",
			ok:   true,
			want: Record{Time: at("1998-01-19 19:17:01.16"), Source: "tcp_local", Code: "D", Size: 1,
				From: "adam@sesta.com", OrigTo: "rfc822;marlowe@siroe.com", ActiveTo: "marlowe@siroe.com"},
		},
		{
			name: "diagnostic with runs of spaces",
			line: "15-Jan-1998 10:31:10.37 tcp_local        Q 3 adam@sesta.com rfc822;user@some.org user@some.org TCP active open: Failed connect()    Error: no route to host",
			ok:   true,
			want: Record{Time: at("1998-01-15 10:31:10.37"), Source: "tcp_local", Code: "Q", Size: 3,
				From: "adam@sesta.com", OrigTo: "rfc822;user@some.org", ActiveTo: "user@some.org",
				Diagnostic: "TCP active open: Failed connect()    Error: no route to host"},
			isError: true,
		},
		{
			name: "bounce with tabs and trailing spaces, one-digit day",
			line: "5-Feb-2002\t08:00:00.00\ttcp_local l R 12 a@b.c rfc822;x@y.z x@y.z   \r",
			ok:   true,
			want: Record{Time: at("2002-02-05 08:00:00.00"), Source: "tcp_local", Dest: "l", Code: "R", Size: 12,
				From: "a@b.c", OrigTo: "rfc822;x@y.z", ActiveTo: "x@y.z"},
			isError: true,
		},
		{
			name: "rejected",
			line: "19-Jan-1998 19:16:57.64 tcp_local tcp_local J 0 spam@x.y rfc822;a@siroe.com a@siroe.com 550 5.7.1 relaying not allowed",
			ok:   true,
			want: Record{Time: at("1998-01-19 19:16:57.64"), Source: "tcp_local", Dest: "tcp_local", Code: "J",
				From: "spam@x.y", OrigTo: "rfc822;a@siroe.com", ActiveTo: "a@siroe.com", Diagnostic: "550 5.7.1 relaying not allowed"},
			isError: true,
		},
		{name: "empty", line: ""},
		{name: "garbage", line: "this is not a log line at all, no sir"},
		{name: "bad date", line: "99-Foo-1998 19:16:57.64 tcp_local ims-ms E 1 a b c"},
		{name: "too few fields", line: "19-Jan-1998 19:16:57.64 tcp_local ims-ms E 1 a b"},
		{name: "size not a number", line: "19-Jan-1998 19:16:57.64 tcp_local ims-ms E x a b c"},
		{name: "code not a code", line: "19-Jan-1998 19:16:57.64 tcp_local ims-ms enq 1 a b c"},
		{name: "dequeue too short", line: "19-Jan-1998 19:16:57.64 tcp_local D 1 a b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MailLogLineIn(tt.line, time.UTC)
			if ok != tt.ok {
				t.Fatalf("MailLogLineIn(%q) ok = %v; want %v", tt.line, ok, tt.ok)
			}
			if !ok {
				return
			}
			if !got.Time.Equal(tt.want.Time) {
				t.Errorf("Time = %v; want %v", got.Time, tt.want.Time)
			}
			got.Time, tt.want.Time = time.Time{}, time.Time{}
			if got != tt.want {
				t.Errorf("MailLogLineIn() = %+v; want %+v", got, tt.want)
			}
			if got.IsError() != tt.isError {
				t.Errorf("IsError() = %v; want %v", got.IsError(), tt.isError)
			}
		})
	}
}

func TestMailLogLineLocal(t *testing.T) {
	line := "19-Jan-1998 19:16:57.64 tcp_local ims-ms E 1 a@b rfc822;c@d c@d"
	got, ok := MailLogLine(line)
	if !ok {
		t.Fatalf("MailLogLine(%q) not ok", line)
	}
	if got.Time.Location() != time.Local {
		t.Errorf("Time location = %v; want Local", got.Time.Location())
	}
	if !strings.HasPrefix(got.Time.Format(time.DateTime), "1998-01-19 19:16:57") {
		t.Errorf("Time = %v; want 1998-01-19 19:16:57 local", got.Time)
	}
}
