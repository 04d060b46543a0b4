package look

import (
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/errs"
)

// Sentinel errors of this package; test with errors.Is.
var (
	// ErrInvalidOption reports an option with an unusable value, an option
	// given to a call that does not read it, or a call's argument out of
	// range (a negative threshold, an empty field name). It wraps
	// index.ErrInvalidArgument.
	ErrInvalidOption error = errs.Sentinel("look: invalid option", index.ErrInvalidArgument)
	// ErrTooFew reports a space with too few items for the analysis asked
	// (a kNN graph needs more than k items, a map at least 3).
	ErrTooFew error = errs.Sentinel("look: too few items", nil)
	// ErrNoStore reports [WithStoreQueries] on a space that was not made
	// by [Load] and so has no store to query.
	ErrNoStore error = errs.Sentinel("look: the space has no store to query", index.ErrInvalidArgument)
)

// errorf returns an error whose text is "look: " and format with args, naming
// the package once (see internal/errs.Errorf); errors.Is reaches every %w
// operand and hidden.
func errorf(hidden error, format string, args ...any) error {
	return errs.Errorf("look", hidden, format, args...)
}
