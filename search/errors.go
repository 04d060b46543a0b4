package search

import (
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/errs"
)

// Sentinel errors of this package. Each wraps [index.ErrInvalidArgument], so
// errors.Is(err, index.ErrInvalidArgument) holds for every bad call.
var (
	// ErrInvalidBucket reports a bucket that cannot be searched: no
	// positive, an example in none or several forms, a bad ID or vector,
	// an ID both positive and negative, or positives and negatives that
	// cancel out into a zero query.
	ErrInvalidBucket error = errs.Sentinel("search: invalid bucket", index.ErrInvalidArgument)
	// ErrNoEncoder reports an example given by input to a Searcher built
	// without [WithEncoder].
	ErrNoEncoder error = errs.Sentinel("search: example given by input but the searcher has no encoder", index.ErrInvalidArgument)
	// ErrInvalidOption reports an option with an unusable value, an option
	// of [New] given to [Searcher.Search], or a [WithMetric] that
	// contradicts the store's metric.
	ErrInvalidOption error = errs.Sentinel("search: invalid option", index.ErrInvalidArgument)
)

// errorf returns an error whose text is "search: " and format with args, naming
// the package once (see internal/errs.Errorf); errors.Is reaches every %w
// operand and hidden.
func errorf(hidden error, format string, args ...any) error {
	return errs.Errorf("search", hidden, format, args...)
}
