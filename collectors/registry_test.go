package collectors

import (
	"slices"
	"testing"

	"github.com/msguard/msguard/collectors/facts"
)

// The registry runs one collector per fact family but install (which
// ResolveTargetOn fills), and every family's field is filled by its own.
func TestRegistryCoversFamilies(t *testing.T) {
	var names []string
	for _, c := range registry {
		if slices.Contains(names, c.name) {
			t.Errorf("%s is in the registry twice", c.name)
		}
		names = append(names, c.name)
	}
	var want []string
	for _, f := range facts.Families {
		if f.Name != facts.CollectorInstall {
			want = append(want, f.Name)
		}
		// Take fills exactly the field Present reads.
		full := &facts.Snapshot{
			Install: &facts.Install{}, Versions: &facts.Versions{}, Processes: &facts.Processes{},
			Mounts: &facts.Mounts{}, Queue: &facts.Queue{}, Store: &facts.Store{}, Configs: &facts.Configs{},
			LDAP: &facts.LDAP{}, HA: &facts.HA{}, MailLog: &facts.MailLog{}, RunState: &facts.RunState{},
			MailFlow: &facts.MailFlow{},
		}
		empty := &facts.Snapshot{}
		f.Take(empty, full)
		for _, g := range facts.Families {
			if got := g.Present(empty); got != (g.Name == f.Name) {
				t.Errorf("after %s.Take, %s present = %v", f.Name, g.Name, got)
			}
		}
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("registry %v; the fact families but install are %v", names, want)
	}
}
