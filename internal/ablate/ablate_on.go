//go:build ablate

package ablate

import "os"

// Enabled reports whether ablation is compiled in (build tag "ablate");
// in this build it is.
func Enabled() bool { return true }

// Skip reports whether MSGUARD_ABLATE names point: the caller then does
// nothing in its place and goes on as if it had succeeded.
func Skip(point string) bool {
	if v := os.Getenv(EnvVar); v != "" && v == point {
		os.Stderr.WriteString("ablate: " + point + " does nothing in this run\n")
		return true
	}
	return false
}
