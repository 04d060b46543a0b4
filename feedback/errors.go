package feedback

import (
	"errors"

	"github.com/shoalhq/shoal/index"
)

// Sentinel errors of this package; test them with errors.Is.
var (
	// ErrInvalidOption reports an option of [NewSession], [Resume] or a
	// [Reranker] with an unusable value. It wraps index.ErrInvalidArgument.
	ErrInvalidOption error = &sentinel{"feedback: invalid option", index.ErrInvalidArgument}
	// ErrInvalidMarks reports training vectors a [Reranker] cannot fit:
	// none at all, vectors of different lengths, or NaN/Inf values. It
	// wraps index.ErrInvalidArgument.
	ErrInvalidMarks error = &sentinel{"feedback: invalid marks", index.ErrInvalidArgument}
	// ErrUnknownID reports a mark on an ID that the session's namespace
	// does not hold. It wraps index.ErrNotFound; the message names every
	// missing ID.
	ErrUnknownID error = &sentinel{"feedback: unknown id", index.ErrNotFound}
	// ErrBadSession reports saved session data that [Resume] cannot read:
	// malformed JSON, an unsupported version or inconsistent contents.
	ErrBadSession = errors.New("feedback: bad saved session")
)

// sentinel is an error with its own message that still matches a parent
// sentinel with errors.Is.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }
