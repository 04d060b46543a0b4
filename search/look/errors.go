package look

import "github.com/shoalhq/shoal/index"

// Sentinel errors of this package; test with errors.Is.
var (
	// ErrInvalidOption reports an option with an unusable value, or a
	// call's argument out of range (a negative threshold, an empty field
	// name). It wraps index.ErrInvalidArgument.
	ErrInvalidOption error = &sentinel{"look: invalid option", index.ErrInvalidArgument}
	// ErrTooFew reports a space with too few items for the analysis asked
	// (a kNN graph needs more than k items, a map at least 3).
	ErrTooFew error = &sentinel{"look: too few items", nil}
	// ErrNoStore reports [WithStoreQueries] on a space that was not made
	// by [Load] and so has no store to query.
	ErrNoStore error = &sentinel{"look: the space has no store to query", index.ErrInvalidArgument}
)

type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }
