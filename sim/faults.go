package sim

import "slices"

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
