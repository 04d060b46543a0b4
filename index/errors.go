package index

import (
	"errors"
	"fmt"

	"github.com/shoalhq/shoal/internal/batch"
	"github.com/shoalhq/shoal/internal/errs"
)

// Sentinel errors. Stores wrap them with the item and the reason
// (fmt.Errorf("record %q: %w", id, ErrDimension)); test with errors.Is.
// Backends map their service's codes onto them and keep the original error
// reachable with errors.As.
var (
	// ErrInvalidArgument reports a malformed call: a bad TopK, filter,
	// metric or option.
	ErrInvalidArgument = errors.New("index: invalid argument")
	// ErrInvalidID reports an empty, too long or non-UTF-8 ID, or an ID
	// given twice in one call.
	ErrInvalidID error = errs.Sentinel("index: invalid id", ErrInvalidArgument)
	// ErrInvalidVector reports an empty vector or one with NaN or ±Inf.
	ErrInvalidVector error = errs.Sentinel("index: invalid vector", ErrInvalidArgument)
	// ErrInvalidMetadata reports a metadata key or value of a type Shoal
	// does not support.
	ErrInvalidMetadata error = errs.Sentinel("index: invalid metadata", ErrInvalidArgument)
	// ErrInvalidFilter reports a filter that is malformed or cannot be
	// translated exactly by the store.
	ErrInvalidFilter error = errs.Sentinel("index: invalid filter", ErrInvalidArgument)
	// ErrDimension reports a vector whose length differs from the
	// namespace's (or store's) dimension.
	ErrDimension error = errs.Sentinel("index: dimension mismatch", ErrInvalidArgument)
	// ErrNotFound reports a missing store, index, collection or item where
	// one is required.
	ErrNotFound = errors.New("index: not found")
	// ErrClosed reports a call on a closed store.
	ErrClosed = errors.New("index: store is closed")
	// ErrCorrupt reports persisted data that fails its checks.
	ErrCorrupt = errors.New("index: corrupt data")
	// ErrUnauthenticated reports rejected credentials.
	ErrUnauthenticated = errors.New("index: unauthenticated")
	// ErrUnavailable reports a service that cannot answer now; such errors
	// are retryable.
	ErrUnavailable = errors.New("index: unavailable")
	// ErrResourceExhausted reports a quota or rate limit; retryable.
	ErrResourceExhausted = errors.New("index: resource exhausted")
)

// ItemError reports a problem with one record of a call.
type ItemError struct {
	Index int    // position of the record in the call (or stream); -1 when unknown
	ID    string // its ID, possibly empty
	Err   error  // wraps one of the sentinel errors
}

func (e *ItemError) Error() string {
	if e.Index < 0 { // position unknown (a batch job's output, for one)
		return fmt.Sprintf("record %q: %v", e.ID, e.Err)
	}
	return fmt.Sprintf("record %d (id %q): %v", e.Index, e.ID, e.Err)
}

// Unwrap returns the underlying error.
func (e *ItemError) Unwrap() error { return e.Err }

// IsRetryable reports whether err asks to be retried: it, or an error it
// wraps, has a Retryable() bool or Temporary() bool method that reports true.
// Context errors are never retryable.
func IsRetryable(err error) bool { return batch.IsRetryable(err) }
