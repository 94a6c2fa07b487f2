//go:build failpoints

package rehearse

import (
	"os"
	"path/filepath"
	"time"
)

// PauseEnv names the environment variable that selects a pause point.
const PauseEnv = "MSGUARD_REHEARSE_PAUSE"

// pausePoint, when MSGUARD_REHEARSE_PAUSE names it, writes the marker file
// paused-NAME in scratch and holds the twin there for good, so that a
// kill test can kill the rehearsal at exactly that point (only in a build
// with the "failpoints" tag).
func pausePoint(name, scratch string) {
	if os.Getenv(PauseEnv) != name {
		return
	}
	_ = os.WriteFile(filepath.Join(scratch, "paused-"+name), []byte(name+"\n"), 0o600)
	for {
		time.Sleep(time.Hour)
	}
}
