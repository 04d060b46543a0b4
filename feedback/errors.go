package feedback

import (
	"errors"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/errs"
)

// Sentinel errors of this package; test them with errors.Is.
var (
	// ErrInvalidOption reports an option of [NewSession], [Resume] or a
	// [Reranker] with an unusable value. It wraps index.ErrInvalidArgument.
	ErrInvalidOption error = errs.Sentinel("feedback: invalid option", index.ErrInvalidArgument)
	// ErrInvalidMarks reports training vectors a [Reranker] cannot fit:
	// none at all, vectors of different lengths, or NaN/Inf values. It
	// wraps index.ErrInvalidArgument.
	ErrInvalidMarks error = errs.Sentinel("feedback: invalid marks", index.ErrInvalidArgument)
	// ErrUnknownID reports a mark on an ID that the session's namespace
	// does not hold. It wraps index.ErrNotFound; the message names every
	// missing ID.
	ErrUnknownID error = errs.Sentinel("feedback: unknown id", index.ErrNotFound)
	// ErrBadSession reports saved session data that [Resume] cannot read:
	// malformed JSON, an unsupported version or inconsistent contents.
	ErrBadSession = errors.New("feedback: bad saved session")
)

// errorf returns an error whose text is "feedback: " and format with args, naming
// the package once (see internal/errs.Errorf); errors.Is reaches every %w
// operand and hidden.
func errorf(hidden error, format string, args ...any) error {
	return errs.Errorf("feedback", hidden, format, args...)
}
