package tree

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/msguard/msguard/sim"
)

// MailLogCounts is what mail.log_current holds for a MailLogSpec.
type MailLogCounts struct {
	// Codes maps each entry code (E, D, Q, R, J, B) to its record count;
	// every code is present, zero included.
	Codes   map[string]int
	Records int // parsable records
	// Errors counts error records: J, R and B (no Q diagnostic says "Error:").
	Errors  int
	Garbage int // lines that do not parse
}

// MailLogCodes are the entry codes in the order of MailLogSpec's fields.
var MailLogCodes = []string{"E", "D", "Q", "R", "J", "B"}

func mailLogMix(m sim.MailLogSpec) []int { return []int{m.E, m.D, m.Q, m.R, m.J, m.B} }

// ExpectedMailLog returns the counts WriteMailLog writes for m.
func ExpectedMailLog(m sim.MailLogSpec) MailLogCounts {
	c := MailLogCounts{Codes: map[string]int{}, Garbage: m.Garbage}
	for i, n := range mailLogMix(m) {
		c.Codes[MailLogCodes[i]] = n
		c.Records += n
	}
	c.Errors = m.R + m.J + m.B
	return c
}

// MailLogSpan is the time the records of mail.log_current cover, ending
// just before the generation time.
const MailLogSpan = 3 * time.Hour

// garbageLines are log lines that are not records (none starts with a date).
var garbageLines = []string{
	"*** mail.log_current reopened after rollover ***",
	"tcp_local ims-ms E 3 truncated-record",
	"\x00\x00\x00 partial write lost on crash",
	"%% job_controller: lost connection to the dispatcher, restarting",
}

var mailLogSenders = []string{"adam@sesta.com", "eve@example.com", "billing@vendor.example", "list-owner@lists.example.org"}

// WriteMailLog writes path with the record mix of m in random but
// deterministic order, times ascending within MailLogSpan before now, in
// the format of layout.md.
func WriteMailLog(path string, m sim.MailLogSpec, now time.Time) error {
	var seq []int // index into MailLogCodes, or -1 for garbage
	for i, n := range mailLogMix(m) {
		for k := 0; k < n; k++ {
			seq = append(seq, i)
		}
	}
	for k := 0; k < m.Garbage; k++ {
		seq = append(seq, -1)
	}
	rng := rand.New(rand.NewPCG(0x6d61696c, 0x6c6f67))
	rng.Shuffle(len(seq), func(i, j int) { seq[i], seq[j] = seq[j], seq[i] })

	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create mail log directory: %w", err)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("create mail.log_current: %w", err)
	}
	w := bufio.NewWriterSize(f, 256*1024)
	start := now.Add(-MailLogSpan)
	step := MailLogSpan / time.Duration(len(seq)+1)
	for k, code := range seq {
		t := start.Add(step * time.Duration(k+1))
		if code < 0 {
			fmt.Fprintln(w, garbageLines[k%len(garbageLines)])
			continue
		}
		writeRecord(w, rng, MailLogCodes[code], t, k)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write mail.log_current: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write mail.log_current: %w", err)
	}
	return nil
}

// writeRecord writes one record: date time source [dest] code size from
// rfc822;to to [diagnostic].
func writeRecord(w *bufio.Writer, rng *rand.Rand, code string, t time.Time, k int) {
	from := mailLogSenders[rng.IntN(len(mailLogSenders))]
	user := UserID(rng.IntN(50)+1) + "@" + DefDomain
	size := rng.IntN(40) + 1
	src, dest, to, diag := "tcp_local", "", user, ""
	switch code {
	case "E":
		dest = "ims-ms"
	case "D":
		src = "ims-ms"
	case "Q":
		to = fmt.Sprintf("user%d@some.org", k%17)
		diag = "TCP active open: Failed connect()    Temporary failure: connection timed out, will retry"
	case "R":
		to = fmt.Sprintf("nobody%d@%s", k%13, DefDomain)
		diag = "Returned to sender after 5 days in queue    Error: 550 5.1.1 unknown or illegal alias: " + to
	case "J":
		dest = "tcp_local"
		to = fmt.Sprintf("someone%d@elsewhere.example", k%11)
		diag = "550 5.7.1 Relaying not allowed: " + to + "    Error: recipient rejected"
	case "B":
		from = "unknown@198.51.100." + fmt.Sprint(k%250+1)
		to = "postmaster@" + DefDomain
		diag = "Bad SMTP command: HELO with no argument    Error: 501 5.5.4 Syntax error"
	}
	fmt.Fprintf(w, "%s %-12s %-8s %s %d %s rfc822;%s %s", t.Format("02-Jan-2006 15:04:05.00"), src, dest, code, size, from, to, to)
	if diag != "" {
		w.WriteString(" " + diag)
	}
	w.WriteByte('\n')
}
