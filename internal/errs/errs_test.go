package errs

import (
	"errors"
	"testing"
)

func TestErrorf(t *testing.T) {
	base := errors.New("index: invalid argument")
	invalidID := Sentinel("index: invalid id", base)
	opt := Sentinel("search: invalid option", base)
	inner := Errorf("index", nil, "%w: empty", invalidID)
	err := Errorf("search", opt, "bucket example %d: %w", 3, inner)
	if got, want := err.Error(), "search: bucket example 3: invalid id: empty"; got != want {
		t.Errorf("text %q, want %q", got, want)
	}
	for _, target := range []error{opt, invalidID, base, inner} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %v) = false", target)
		}
	}
	if errors.Is(Errorf("search", nil, "plain %d", 1), opt) {
		t.Error("an error matches a sentinel it does not wrap")
	}
}
