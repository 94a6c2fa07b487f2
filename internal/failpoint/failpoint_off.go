//go:build !failpoints

package failpoint

// Enabled reports whether failpoints are compiled in (build tag
// "failpoints"); in this build they are not.
func Enabled() bool { return false }

// Hit does nothing in a build without the "failpoints" tag.
func Hit(string) {}
