package feedback

import (
	"errors"
	"fmt"
	"strings"

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

// errorf returns an error whose text is "feedback: " followed by format
// with args, where every %w operand prints without its own package's
// prefix ("search: invalid bucket: …" prints as "invalid bucket: …"), so
// that the text names the package once. errors.Is and errors.As reach every
// %w operand and, when hidden is not nil, hidden too, which is not printed.
func errorf(hidden error, format string, args ...any) error {
	shown := make([]any, len(args))
	for i, a := range args {
		if e, ok := a.(error); ok {
			shown[i] = trimmed{e}
		} else {
			shown[i] = a
		}
	}
	e := &pkgError{
		msg:  "feedback: " + fmt.Sprintf(strings.ReplaceAll(format, "%w", "%v"), shown...),
		errs: []error{fmt.Errorf(format, args...)},
	}
	if hidden != nil {
		e.errs = append(e.errs, hidden)
	}
	return e
}

// pkgError is an error of errorf: its own text, and the errors it wraps.
type pkgError struct {
	msg  string
	errs []error
}

func (e *pkgError) Error() string   { return e.msg }
func (e *pkgError) Unwrap() []error { return e.errs }

// trimmed prints an error without a leading Shoal package name.
type trimmed struct{ err error }

func (t trimmed) String() string {
	msg := t.err.Error()
	for _, p := range []string{"feedback: ", "search: ", "index: ", "embedding: "} {
		if m, ok := strings.CutPrefix(msg, p); ok {
			return m
		}
	}
	return msg
}
