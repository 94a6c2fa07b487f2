//go:build !ablate

package ablate

// Enabled reports whether ablation is compiled in (build tag "ablate");
// in this build it is not.
func Enabled() bool { return false }

// Skip never skips in a normal build.
func Skip(string) bool { return false }
