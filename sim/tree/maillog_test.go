package tree

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/msguard/msguard/sim"
)

func TestWriteMailLog(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    sim.MailLogSpec
	}{
		{"empty", sim.MailLogSpec{}},
		{"clean", sim.MailLogSpec{E: 100, D: 100}},
		{"mixed", sim.MailLogSpec{E: 500, D: 480, Q: 40, R: 7, J: 5, B: 3, Garbage: 11}},
		{"only garbage", sim.MailLogSpec{Garbage: 4}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "log", "imta", "mail.log_current")
			now := time.Now()
			if err := WriteMailLog(path, tc.m, now); err != nil {
				t.Fatalf("WriteMailLog: %v", err)
			}
			got, want := parseMailLog(t, path), ExpectedMailLog(tc.m)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("parsed %+v, want %+v", got, want)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
			for _, l := range lines {
				m := mailLogRE.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				ts, _ := time.ParseInLocation("02-Jan-2006 15:04:05.00", m[1], time.Local)
				if ts.Before(now.Add(-MailLogSpan-time.Second)) || ts.After(now) {
					t.Errorf("record time %s outside the last %v", ts, MailLogSpan)
				}
				if (m[4] == "E" || m[4] == "J") != (m[3] != "") {
					t.Errorf("destination channel %q on a %s record: %q", m[3], m[4], l)
				}
			}
		})
	}
}

func TestWriteMailLogDeterministic(t *testing.T) {
	m := sim.MailLogSpec{E: 20, D: 20, Q: 3, R: 2, J: 1, B: 1, Garbage: 2}
	now := time.Date(2002, 9, 16, 12, 0, 0, 0, time.Local)
	var outs [2]string
	for i := range outs {
		path := filepath.Join(t.TempDir(), "mail.log_current")
		if err := WriteMailLog(path, m, now); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(path)
		outs[i] = string(b)
	}
	if outs[0] != outs[1] {
		t.Error("two runs with the same spec and time differ")
	}
	if !strings.Contains(outs[0], "16-Sep-2002 ") {
		t.Errorf("no record dated 16-Sep-2002 in:\n%s", outs[0])
	}
}
