package media

import (
	"context"
	"fmt"
	"strconv"

	"github.com/msguard/msguard/sim"
)

func init() {
	sim.RegisterInstaller("ims-dssetup", installer(prodEnv, imsDSSetup))
}

// imsDSSetup is ims_dssetup.pl of the 5.2 media: it prepares a directory
// instance for Messaging Server 5.2 (schema, indexes, o=pab).
func imsDSSetup(ctx context.Context, e env, _ string, _ []string, d *dialogue) (err error) {
	root, err := d.ask("Directory server root", defaultRoot)
	if err != nil {
		return err
	}
	st, err := loadRoot(root)
	if err != nil {
		return err
	}
	p := st.Paths()
	defer func() { writeSetupLog(p, "dssetup-"+freeStamp(e, p)+".log", d, err) }()
	ids := st.Scenario.DSInstances
	if st.Scenario.DSExternal || len(ids) == 0 {
		return failf("no directory server instance (slapd-*) under %s", root)
	}
	d.say("Available directory server instances:")
	for i, id := range ids {
		d.say(fmt.Sprintf("   %d. slapd-%s", i+1, id))
	}
	ans, err := d.ask("Which instance do you want", "1")
	if err != nil {
		return err
	}
	n, convErr := strconv.Atoi(ans)
	if convErr != nil || n < 1 || n > len(ids) {
		return failf("instance %q: choose 1 to %d", ans, len(ids))
	}
	id := ids[n-1]
	dn, err := d.ask("Please enter the directory manager DN", "cn=Directory Manager")
	if err != nil {
		return err
	}
	pw, err := d.secret("Password")
	if err != nil {
		return err
	}
	url := e.dsURL(st, id)
	if err := e.bind(ctx, url, dn, pw); err != nil {
		return failf("cannot bind to slapd-%s as %s: %v", id, dn, err)
	}
	if ans, err = d.ask("Will this directory server be used for users/groups", "Yes"); err != nil {
		return err
	}
	if !yes(ans) {
		return failf("slapd-%s must hold the users and groups to be prepared for Messaging Server 5.2", id)
	}
	want := ugSuffix(readInstallInf(p))
	if ans, err = d.ask("Please enter the Users and Groups base suffix", want); err != nil {
		return err
	}
	if ans != want {
		return failf("suffix %s is not served by slapd-%s (it holds %s)", ans, id, want)
	}
	for _, q := range []string{"Do you want to update the schema files", "Do you want to configure new indexes"} {
		if ans, err = d.ask(q, "yes"); err != nil {
			return err
		}
		if !yes(ans) {
			return failf("Messaging Server 5.2 needs the new schema and indexes: answer yes")
		}
	}
	if ans, err = d.ask("Do you want to continue", "y"); err != nil {
		return err
	}
	if !yes(ans) {
		return failf("cancelled: nothing was changed")
	}
	if st.Scenario.Fail.DSSetup {
		return failf("updating the schema of slapd-%s failed (simulated failure)", id)
	}
	// FailSpec.Silent "ims_dssetup": the success line only, no schema, no o=pab.
	if !st.Scenario.Fail.IsSilent(sim.SilentIMSDSSetup) {
		if err := e.applyDSSetup(ctx, st, id, pw); err != nil {
			return failf("prepare slapd-%s: %v", id, err)
		}
	}
	d.say("Directory server slapd-" + id + " is ready for iPlanet Messaging Server 5.2.")
	return nil
}
