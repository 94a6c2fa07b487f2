package reports

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/msguard/msguard/collectors/facts"
)

// mailflowLeg is one leg of the mail-flow probe as every format shows it.
type mailflowLeg struct {
	Name, Result, Latency, Server, Detail string
	OK                                    bool
}

// text is the leg in one line: "ok 12ms 127.0.0.1:25 STARTTLS: accepted".
func (l mailflowLeg) text() string {
	parts := []string{l.Result}
	if l.Latency != "" {
		parts = append(parts, l.Latency)
	}
	if l.Server != "" {
		parts = append(parts, l.Server)
	}
	s := strings.Join(parts, " ")
	if l.Detail != "" {
		s += ": " + l.Detail
	}
	return s
}

// mailflowLegs lists the probe's legs in their order (submit, delivery,
// imap, pop3), then the cleanup; nothing when the probe was skipped.
func mailflowLegs(mf *facts.MailFlow) []mailflowLeg {
	if mf == nil || mf.Skipped != "" {
		return nil
	}
	var out []mailflowLeg
	for _, l := range []struct {
		name string
		leg  *facts.MailFlowLeg
	}{{"submit", mf.Submit}, {"delivery", mf.Delivery}, {"imap", mf.IMAP}, {"pop3", mf.POP3}} {
		if l.leg == nil {
			continue
		}
		v := mailflowLeg{Name: l.name, Result: l.leg.Result, Server: l.leg.Server, OK: l.leg.Result == facts.LegOK}
		if l.leg.Result != facts.LegNotRun {
			v.Latency = latencyText(l.leg.LatencyMS)
		}
		if l.leg.TLS {
			v.Server += " (TLS)"
		}
		var d []string
		for _, s := range []string{l.leg.Error, l.leg.Reply, l.leg.Detail} {
			if s != "" {
				d = append(d, s)
			}
		}
		v.Detail = strings.Join(d, "; ")
		out = append(out, v)
	}
	if c := mf.Cleanup; c != nil {
		v := mailflowLeg{Name: "cleanup", Result: "clean", OK: c.Clean}
		if !c.Clean {
			v.Result = "left behind"
		}
		d := append([]string(nil), c.Actions...)
		if c.Error != "" {
			d = append(d, c.Error)
		}
		v.Detail = strings.Join(d, "; ")
		out = append(out, v)
	}
	return out
}

// mailflowProbe names the probe account and the message's tag.
func mailflowProbe(mf *facts.MailFlow) string {
	return fmt.Sprintf("probe %s <%s>, tag %s", mf.User, mf.Address, mf.Tag)
}

// mailflowLines renders the probe for the text report: who was probed,
// then one line per leg with its latency.
func mailflowLines(mf *facts.MailFlow) []string {
	if mf.Skipped != "" {
		return []string{"not probed: " + mf.Skipped}
	}
	out := []string{mailflowProbe(mf)}
	for _, l := range mailflowLegs(mf) {
		out = append(out, fmt.Sprintf("%-9s %s", l.Name, l.text()))
	}
	return out
}

// latencyText is a leg's latency: whole milliseconds below a second,
// else seconds to the hundredth ("1.25s").
func latencyText(msec float64) string {
	if msec < 1000 {
		return fmt.Sprintf("%dms", int64(math.Round(msec)))
	}
	return (time.Duration(msec * float64(time.Millisecond))).Round(10 * time.Millisecond).String()
}

// htmlMailFlow is the HTML report's mail-flow section: one line per leg
// with its latency.
type htmlMailFlow struct {
	Skipped, Probe string
	Legs           []mailflowLeg
}

func newHTMLMailFlow(mf *facts.MailFlow) *htmlMailFlow {
	if mf == nil {
		return nil
	}
	if mf.Skipped != "" {
		return &htmlMailFlow{Skipped: mf.Skipped}
	}
	return &htmlMailFlow{Probe: mailflowProbe(mf), Legs: mailflowLegs(mf)}
}
