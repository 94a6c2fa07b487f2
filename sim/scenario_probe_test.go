package sim

import (
	"strings"
	"testing"
)

// TestProbeAccount: the probe account defaults to the last user with a
// password of its own, and must be one of the scenario's users.
func TestProbeAccount(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*Scenario)
		wantUID string
		wantErr string
	}{
		{"default", func(*Scenario) {}, "user0050", ""},
		{"fewer users", func(s *Scenario) { s.Users = 7 }, "user0007", ""},
		{"named", func(s *Scenario) { s.Users, s.Secrets.ProbeUID = 200, "user0200" }, "user0200", ""},
		{"past the last user", func(s *Scenario) { s.Users, s.Secrets.ProbeUID = 200, "user0201" }, "", "want one of the scenario's users, user0001 to user0200"},
		{"not a user", func(s *Scenario) { s.Secrets.ProbeUID = "probe" }, "", `secrets.probe_uid "probe"`},
		{"padding", func(s *Scenario) { s.Secrets.ProbeUID = "user07" }, "", "want one of the scenario's users"},
		{"past 9999 users", func(s *Scenario) { s.Users = 100000 }, "user100000", ""},
		{"five digits named", func(s *Scenario) { s.Users, s.Secrets.ProbeUID = 100000, "user12345" }, "user12345", ""},
		{"five digits padded", func(s *Scenario) { s.Users, s.Secrets.ProbeUID = 100000, "user012345" }, "", "want one of the scenario's users"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := Scenario{Root: "/srv/server5"}
			tc.edit(&s)
			s.Defaults()
			err := s.Validate()
			switch {
			case tc.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("Validate: %v, want %q", err, tc.wantErr)
				}
			case err != nil:
				t.Errorf("Validate: %v", err)
			case s.Secrets.ProbeUID != tc.wantUID || s.Secrets.ProbePassword == "":
				t.Errorf("probe account %q (password set: %v), want %q", s.Secrets.ProbeUID, s.Secrets.ProbePassword != "", tc.wantUID)
			}
		})
	}
}
