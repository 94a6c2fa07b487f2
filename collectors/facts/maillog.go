package facts

import "time"

// MailLog summarises INST/log/imta/mail.log_current.
type MailLog struct {
	Path string `json:"path"`
	// Since is the lower time bound applied (zero: whole file).
	Since *time.Time `json:"since,omitempty"`
	// Counts maps an entry code (E, D, R, J, Q, B) to its number of records.
	Counts   map[string]int64 `json:"counts"`
	Records  int64            `json:"records"`
	Unparsed int64            `json:"unparsed"`
	First    *time.Time       `json:"first,omitempty"`
	Last     *time.Time       `json:"last,omitempty"`
	// Errors lists error records (J, R, B, or "Error:" in the diagnostic),
	// at most MaxLogErrors of them; ErrorCount is the full number.
	Errors     []LogError `json:"errors,omitempty"`
	ErrorCount int64      `json:"error_count"`
}

// MaxLogErrors bounds the error records kept in a snapshot.
const MaxLogErrors = 100

// LogError is one error record of the MTA log.
type LogError struct {
	Line       int64     `json:"line"`
	Time       time.Time `json:"time"`
	Code       string    `json:"code"`
	Source     string    `json:"source"`
	Dest       string    `json:"dest,omitempty"`
	Diagnostic string    `json:"diagnostic,omitempty"`
}
