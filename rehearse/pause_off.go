//go:build !failpoints

package rehearse

// pausePoint does nothing in a build without the "failpoints" tag.
func pausePoint(string, string) {}
