//go:build !failpoints

package failpoint

import "testing"

// TestHitIsNoOp checks that a normal build neither reports failpoints nor
// kills the process when the variable names the failpoint: if Hit killed,
// this test binary would die and the test would fail.
func TestHitIsNoOp(t *testing.T) {
	if Enabled() {
		t.Fatal("Enabled() = true in a build without the failpoints tag")
	}
	for _, spec := range []string{"x", "x#1", "x#2"} {
		t.Setenv(EnvVar, spec)
		for range 3 {
			Hit("x")
		}
	}
}
