package sim

import (
	"fmt"
	"slices"
	"strings"
)

// Tools that FailSpec.Silent can name.
const (
	SilentSetup      = "setup"       // msg52/setup -k
	SilentIMSDSSetup = "ims_dssetup" // msg52/ims_dssetup.pl
	SilentWSSetup    = "ws_setup"    // ws60sp2/setup
	SilentDASetup    = "da_setup"    // da12/setup
	SilentDB2LDIF    = "db2ldif"     // DSINST/db2ldif
)

// IsSilent reports whether tool (one of the Silent* names) is to exit 0
// without doing its work.
func (f FailSpec) IsSilent(tool string) bool { return slices.Contains(f.Silent, tool) }

// Mail-flow faults that `msguard-sim fault` plants on a created host (see
// FailSpec and sim/procs/doc.go).
const (
	FaultDeliveryStops     = "delivery-stops"      // FailSpec.DeliveryStops
	FaultIMAPRefusesLogins = "imap-refuses-logins" // FailSpec.IMAPRefusesLogins
	FaultSMTPRelayDenied   = "smtp-relay-denied"   // FailSpec.SMTPRelayDenied, for one domain
)

// MailFlowFaults lists the fault names PlantFault knows.
var MailFlowFaults = []string{FaultDeliveryStops, FaultIMAPRefusesLogins, FaultSMTPRelayDenied}

// PlantFault plants (on) or clears a mail-flow fault in the state of the
// host at root; domain is the domain of FaultSMTPRelayDenied (ignored by
// the others). The running daemons see it at their next connection or
// delivery pass.
func PlantFault(root, name, domain string, on bool) error {
	st, err := LoadState(root)
	if err != nil {
		return err
	}
	f := &st.Scenario.Fail
	switch name {
	case FaultDeliveryStops:
		f.DeliveryStops = on
	case FaultIMAPRefusesLogins:
		f.IMAPRefusesLogins = on
	case FaultSMTPRelayDenied:
		if domain == "" {
			return fmt.Errorf("fault %s needs a domain (the probe's, e.g. siroe.com)", name)
		}
		f.SMTPRelayDenied = slices.DeleteFunc(f.SMTPRelayDenied, func(d string) bool { return strings.EqualFold(d, domain) })
		if on {
			f.SMTPRelayDenied = append(f.SMTPRelayDenied, strings.ToLower(domain))
		}
	default:
		return fmt.Errorf("unknown fault %q: want one of %s", name, strings.Join(MailFlowFaults, ", "))
	}
	return st.Save()
}
