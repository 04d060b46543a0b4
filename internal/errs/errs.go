// Package errs builds the error values of Shoal's packages so that a message
// names its package once: "search: WithFilter: invalid filter: eq "label": …",
// not "search: invalid option: index: invalid argument: invalid filter: …".
// Sentinels stay reachable with errors.Is, a service's own error with
// errors.As.
package errs

import (
	"fmt"
	"strings"
)

// Sentinel returns a sentinel error whose text is msg and which also
// matches parent with errors.Is, without printing parent's text.
func Sentinel(msg string, parent error) error { return &sentinel{msg, parent} }

type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// prefixes are the package names a wrapped error's text may start with.
var prefixes = []string{"feedback: ", "look: ", "search: ", "index: ", "embedding: "}

// Errorf returns an error whose text is pkg, ": " and format with args,
// where every %w operand prints without a leading Shoal package name
// ("index: invalid id: empty" prints as "invalid id: empty"). errors.Is and
// errors.As reach every %w operand and, when hidden is not nil, hidden too,
// which is not printed: Errorf("search", ErrInvalidOption, "WithTopK: %d out
// of range", 0) reads "search: WithTopK: 0 out of range" and matches
// ErrInvalidOption.
func Errorf(pkg string, hidden error, format string, args ...any) error {
	shown := make([]any, len(args))
	for i, a := range args {
		if e, ok := a.(error); ok {
			shown[i] = trimmed{e}
		} else {
			shown[i] = a
		}
	}
	e := &pkgError{
		msg:  pkg + ": " + fmt.Sprintf(strings.ReplaceAll(format, "%w", "%v"), shown...),
		errs: []error{fmt.Errorf(format, args...)},
	}
	if hidden != nil {
		e.errs = append(e.errs, hidden)
	}
	return e
}

// pkgError is an error of Errorf: its own text, and the errors it wraps.
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
	for _, p := range prefixes {
		if m, ok := strings.CutPrefix(msg, p); ok {
			return m
		}
	}
	return msg
}
