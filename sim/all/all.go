// Package all links every part of the simulator into a binary: importing
// it registers the create steps, ctl verbs, programs and installers.
package all

import (
	_ "github.com/msguard/msguard/sim/directory"
	_ "github.com/msguard/msguard/sim/media"
	_ "github.com/msguard/msguard/sim/procs"
	_ "github.com/msguard/msguard/sim/tree"
)
