package search

import (
	"fmt"
	"strings"

	"github.com/shoalhq/shoal/index"
)

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
	// ErrInvalidOption reports an option with an unusable value, an option
	// of [New] given to [Searcher.Search], or a [WithMetric] that
	// contradicts the store's metric.
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

// errorf returns an error whose text is "search: " followed by format with
// args, where every %w operand prints without its own package's prefix
// ("index: invalid id: empty" prints as "invalid id: empty"), so that the
// text names the package once. errors.Is and errors.As reach every %w
// operand and, when hidden is not nil, hidden too, which is not printed:
// errorf(ErrInvalidOption, "WithTopK: %d out of range", n) reads
// "search: WithTopK: 0 out of range" and matches ErrInvalidOption.
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
		msg:  "search: " + fmt.Sprintf(strings.ReplaceAll(format, "%w", "%v"), shown...),
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
	for _, p := range []string{"search: ", "index: ", "embedding: "} {
		if m, ok := strings.CutPrefix(msg, p); ok {
			return m
		}
	}
	return msg
}
