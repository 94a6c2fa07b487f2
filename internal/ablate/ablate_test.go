package ablate

import "testing"

// TestSkipOff: a normal build never skips, whatever the environment says;
// the ablate build skips exactly the named point.
func TestSkip(t *testing.T) {
	t.Setenv(EnvVar, "backup.ldif")
	for _, tt := range []struct {
		point string
		want  bool
	}{
		{"backup.ldif", true},
		{"backup.ldapsearch", false},
		{"backup.ldif:slapd-budgie", false},
		{"", false},
	} {
		if got := Skip(tt.point); got != (tt.want && Enabled()) {
			t.Errorf("Skip(%q) = %v; want %v (ablation compiled in: %v)", tt.point, got, tt.want && Enabled(), Enabled())
		}
	}
}
