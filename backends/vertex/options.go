package vertex

import (
	"fmt"
	"slices"
	"strings"
)

// Option configures [NewEncoder], [NewBatchEncoder] or [NewTrainer]. Each
// option's documentation says which constructors it applies to and what
// its default is; an option passed to a constructor it does not apply to,
// or one that does not apply to the target (for example an instance builder
// for a publisher model), makes the constructor fail with an error naming
// both and wrapping [ErrInvalidOption].
type Option func(*config) error

// The constructors an option may apply to.
const (
	ctorEncoder = "NewEncoder"
	ctorBatch   = "NewBatchEncoder"
	ctorTrainer = "NewTrainer"
)

var (
	forEncoder   = []string{ctorEncoder}
	forEmbedders = []string{ctorEncoder, ctorBatch}
	forAll       = []string{ctorEncoder, ctorBatch, ctorTrainer}
	forJobs      = []string{ctorBatch, ctorTrainer}
	forTrainer   = []string{ctorTrainer}
)

// newOption makes the Option called name, which applies to the constructors
// in ctors. apply reports an unusable value with a plain reason; the
// Option's error says "vertex: NAME: REASON" and wraps ErrInvalidOption.
func newOption(name string, ctors []string, apply func(*config) error) Option {
	return func(c *config) error {
		if !slices.Contains(ctors, c.ctor) {
			return &optionError{fmt.Sprintf("%s does not apply to %s (only to %s)", name, c.ctor, strings.Join(ctors, ", "))}
		}
		if err := apply(c); err != nil {
			return &optionError{name + ": " + err.Error()}
		}
		c.used = append(c.used, name)
		return nil
	}
}

// applyOptions runs opts on c for the constructor ctor.
func applyOptions(c *config, ctor string, opts []Option) error {
	c.ctor = ctor
	for _, o := range opts {
		if o == nil {
			return &optionError{fmt.Sprintf("%s: nil option", ctor)}
		}
		if err := o(c); err != nil {
			return err
		}
	}
	return nil
}

// rejectUsed fails when one of names was passed: those options do not apply
// to target (what the constructor was given), for the reason why.
func (c *config) rejectUsed(target, why string, names ...string) error {
	for _, n := range names {
		if slices.Contains(c.used, n) {
			return &optionError{fmt.Sprintf("%s does not apply to %s: %s", n, target, why)}
		}
	}
	return nil
}

// optionError is an unusable option or argument. Its text names the
// package once, then the item and the reason; it wraps ErrInvalidOption
// (and so embedding.ErrInvalidOption).
type optionError struct{ msg string }

func (e *optionError) Error() string { return "vertex: " + e.msg }
func (e *optionError) Unwrap() error { return ErrInvalidOption }

// invalidf reports an unusable argument or configuration, like an option
// error.
func invalidf(format string, args ...any) error {
	return &optionError{fmt.Sprintf(format, args...)}
}
