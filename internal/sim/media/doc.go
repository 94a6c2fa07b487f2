// Package media is part of msguard-sim (see package sim).
package media

import "errors"

// WriteMedia writes installer media to dir: msg52/setup, msg52/ims_dssetup.pl,
// ws60sp2/setup, da12/setup, da12/uninstall, msg52/SUNWscims/. binary is
// the msguard-sim executable to copy.
func WriteMedia(dir, binary string) error { return errors.New("not built yet") }
