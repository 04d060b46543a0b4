package look

import (
	"fmt"
	"strings"

	"github.com/shoalhq/shoal/index"
)

// Sentinel errors of this package; test with errors.Is.
var (
	// ErrInvalidOption reports an option with an unusable value, an option
	// given to a call that does not read it, or a call's argument out of
	// range (a negative threshold, an empty field name). It wraps
	// index.ErrInvalidArgument.
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

// errorf returns an error whose text is "look: " followed by format with
// args, where every %w operand prints without its own package's prefix
// ("index: invalid filter: …" prints as "invalid filter: …"), so that the
// text names the package once. errors.Is and errors.As reach every %w
// operand and, when hidden is not nil, hidden too, which is not printed.
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
		msg:  "look: " + fmt.Sprintf(strings.ReplaceAll(format, "%w", "%v"), shown...),
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
	for _, p := range []string{"look: ", "search: ", "index: "} {
		if m, ok := strings.CutPrefix(msg, p); ok {
			return m
		}
	}
	return msg
}
