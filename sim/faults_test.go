package sim

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestPlantFault: each mail-flow fault is planted into and cleared from
// the state file; an unknown name or a relay fault without a domain is
// refused with a message naming what to give.
func TestPlantFault(t *testing.T) {
	root := filepath.Join(t.TempDir(), "server5")
	st := &State{Scenario: Scenario{Root: root, Instance: "budgie"}}
	if err := st.Save(); err != nil {
		t.Fatal(err)
	}
	fail := func() FailSpec {
		t.Helper()
		st, err := LoadState(root)
		if err != nil {
			t.Fatal(err)
		}
		return st.Scenario.Fail
	}
	for _, tc := range []struct {
		name, domain string
		on           bool
		want         func(FailSpec) bool
		wantErr      string
	}{
		{FaultDeliveryStops, "", true, func(f FailSpec) bool { return f.DeliveryStops }, ""},
		{FaultIMAPRefusesLogins, "", true, func(f FailSpec) bool { return f.DeliveryStops && f.IMAPRefusesLogins }, ""},
		{FaultSMTPRelayDenied, "Siroe.COM", true, func(f FailSpec) bool { return slices.Equal(f.SMTPRelayDenied, []string{"siroe.com"}) }, ""},
		{FaultSMTPRelayDenied, "siroe.com", true, func(f FailSpec) bool { return slices.Equal(f.SMTPRelayDenied, []string{"siroe.com"}) }, ""},
		{FaultSMTPRelayDenied, "", true, nil, "needs a domain"},
		{"no-such-fault", "", true, nil, "want one of delivery-stops, imap-refuses-logins, smtp-relay-denied"},
		{FaultDeliveryStops, "", false, func(f FailSpec) bool { return !f.DeliveryStops && f.IMAPRefusesLogins }, ""},
		{FaultIMAPRefusesLogins, "", false, func(f FailSpec) bool { return !f.IMAPRefusesLogins }, ""},
		{FaultSMTPRelayDenied, "siroe.com", false, func(f FailSpec) bool { return len(f.SMTPRelayDenied) == 0 }, ""},
	} {
		err := PlantFault(root, tc.name, tc.domain, tc.on)
		switch {
		case tc.wantErr != "":
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("PlantFault(%s, %q): %v, want an error with %q", tc.name, tc.domain, err, tc.wantErr)
			}
		case err != nil:
			t.Errorf("PlantFault(%s, %q, %v): %v", tc.name, tc.domain, tc.on, err)
		case !tc.want(fail()):
			t.Errorf("after PlantFault(%s, %q, %v): %+v", tc.name, tc.domain, tc.on, fail())
		}
	}
}
