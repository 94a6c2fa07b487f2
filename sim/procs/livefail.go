package procs

import (
	"github.com/msguard/msguard/sim"
)

// liveFail returns the mail-flow faults planted now: the FailSpec of the
// state file as it is on disk (`msguard-sim fault` rewrites it while the
// host runs), else the one the daemon started with.
func liveFail(st *sim.State) sim.FailSpec {
	cur, err := sim.LoadState(st.Scenario.Root)
	if err != nil {
		return st.Scenario.Fail
	}
	return cur.Scenario.Fail
}
