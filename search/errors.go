package search

import "github.com/shoalhq/shoal/index"

// Sentinel errors of this package. Each wraps [index.ErrInvalidArgument], so
// errors.Is(err, index.ErrInvalidArgument) holds for every bad call.
var (
	// ErrInvalidBucket reports a bucket that cannot be searched: no
	// positive, an example in none or several forms, a bad ID or vector,
	// an ID both positive and negative, or positives and negatives that
	// cancel out into a zero query.
	ErrInvalidBucket error = &sentinel{"search: invalid bucket", index.ErrInvalidArgument}
	// ErrNoEncoder reports an example given by input to a Searcher built
	// without [WithEncoder].
	ErrNoEncoder error = &sentinel{"search: example given by input but the searcher has no encoder", index.ErrInvalidArgument}
	// ErrInvalidOption reports an option of [New] or [Searcher.Search] with
	// an unusable value.
	ErrInvalidOption error = &sentinel{"search: invalid option", index.ErrInvalidArgument}
)

// sentinel is an error with its own message that still matches a parent
// sentinel with errors.Is.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }
