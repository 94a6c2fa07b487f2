package exitcode

import (
	"errors"
	"fmt"
	"testing"
)

func TestOf(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, OK},
		{"plain", errors.New("boom"), Runtime},
		{"usage", Usagef("bad flag %q", "x"), Usage},
		{"wrapped twice", fmt.Errorf("outer: %w", New(NotReady, "deny")), NotReady},
		{"interrupted", Wrap(Interrupted, errors.New("signal")), Interrupted},
		{"wrap nil", Wrap(Usage, nil), OK},
	}
	for _, tt := range tests {
		if got := Of(tt.err); got != tt.want {
			t.Errorf("Of(%s) = %d; want %d", tt.name, got, tt.want)
		}
	}
}
