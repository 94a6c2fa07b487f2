package facts

// MailFlow is the mail-flow probe's outcome: a uniquely tagged message
// submitted over SMTP to the dispatcher, watched until it leaves the
// queue, fetched over IMAP (and POP3 when the install serves it) and
// deleted. Skipped says why the probe did not run (no probe account
// given, a bundle from the collector script): the legs are then absent and
// the probe's keys are skipped, never passed.
type MailFlow struct {
	Skipped string `json:"skipped,omitempty"`
	// User is the probe account's login, Address its mail address.
	User    string `json:"user,omitempty"`
	Address string `json:"address,omitempty"`
	// Tag is the random tag in the probe message's subject and Message-ID.
	Tag      string       `json:"tag,omitempty"`
	Submit   *MailFlowLeg `json:"submit,omitempty"`
	Delivery *MailFlowLeg `json:"delivery,omitempty"`
	IMAP     *MailFlowLeg `json:"imap,omitempty"`
	POP3     *MailFlowLeg `json:"pop3,omitempty"`
	Cleanup  *MailCleanup `json:"cleanup,omitempty"`
	Servers  []MailServer `json:"servers,omitempty"`
}

// Results of a probe leg.
const (
	LegOK     = "ok"      // the leg did its work
	LegFailed = "failed"  // it could not: Reply and Error say why
	LegNotRun = "not_run" // not attempted: Detail says why (an earlier leg failed, POP3 disabled)
)

// MailFlowLeg is one leg of the probe: submit (SMTP), delivery (queue to
// store), imap or pop3 (fetch).
type MailFlowLeg struct {
	Result string `json:"result"`
	// LatencyMS is how long the leg took: submit from connect to the
	// server's acceptance of the message, delivery from that acceptance to
	// the message's absence from the queue, a fetch from connect to the
	// message read.
	LatencyMS float64 `json:"latency_ms"`
	// Server is the host:port the leg spoke to ("" for delivery).
	Server string `json:"server,omitempty"`
	// TLS is whether the session was encrypted (STARTTLS/STLS).
	TLS bool `json:"tls,omitempty"`
	// Reply is the server's own words when the leg failed ("550 5.7.1
	// relaying denied", "NO LOGIN failed"), credentials never included.
	Reply string `json:"reply,omitempty"`
	// Error is what failed, in msguard's words.
	Error string `json:"error,omitempty"`
	// Detail says what the leg saw (the queue channel, the mailbox).
	Detail string `json:"detail,omitempty"`
}

// MailServer is a server the probe spoke to: its greeting and the
// capabilities it announced (after STARTTLS when it was used).
type MailServer struct {
	Protocol     string   `json:"protocol"` // smtp, imap, pop3
	Address      string   `json:"address"`
	Greeting     string   `json:"greeting,omitempty"`
	Capabilities []string `json:"capabilities,omitempty"`
}

// MailCleanup says whether the probe left its message behind. The probe
// always tries to delete it, also when a leg failed.
type MailCleanup struct {
	// Clean is true when the message is in neither the queue nor the
	// probe account's mailbox any more (as far as the probe could see:
	// Error says what it could not look at).
	Clean bool `json:"clean"`
	// Actions lists what was deleted, e.g. "imap: expunged 1 message",
	// "queue: removed tcp_local/ZZ01.00".
	Actions []string `json:"actions,omitempty"`
	Error   string   `json:"error,omitempty"`
}
