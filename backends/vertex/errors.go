package vertex

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/errs"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

// Errors of this package, in addition to the embedding and index sentinels
// that service errors map onto (see the package documentation).
var (
	// ErrJobFailed reports a batch prediction or training job that ended in
	// a failed (or expired) state; the error carries the job's own message.
	ErrJobFailed = errors.New("vertex: job failed")
	// ErrJobCancelled reports a job that was cancelled by someone other
	// than this process (a cancelled context returns the context's error).
	ErrJobCancelled = errors.New("vertex: job cancelled")
	// ErrInvalidOption reports an option or argument with an unusable value.
	// It wraps embedding.ErrInvalidOption.
	ErrInvalidOption error = errs.Sentinel("vertex: invalid option", embedding.ErrInvalidOption)
)

// mapError translates an error of the aiplatform client into Shoal's
// codes. The result wraps both a sentinel (index.ErrUnavailable,
// index.ErrResourceExhausted, index.ErrUnauthenticated, index.ErrNotFound,
// or invalid, the caller's choice for InvalidArgument) and the original
// error, so errors.As still reaches the client's *apierror.APIError.
// Unavailable, ResourceExhausted and the deadline of one attempt are marked
// retryable for internal/batch.
func mapError(ctx context.Context, op string, err error, invalid error) error {
	if err == nil {
		return nil
	}
	if cerr := driver.ContextError(ctx); cerr != nil {
		// The caller's context ended: report that, not a transport code.
		return fmt.Errorf("vertex: %s: %w", op, cerr)
	}
	st, ok := status.FromError(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return driver.Temporary(fmt.Errorf("vertex: %s: %w: %w", op, index.ErrUnavailable, err), 0)
		}
		return fmt.Errorf("vertex: %s: %w", op, err)
	}
	var sentinel error
	retry := false
	switch st.Code() {
	case codes.Unavailable, codes.DeadlineExceeded:
		sentinel, retry = index.ErrUnavailable, true
	case codes.ResourceExhausted:
		sentinel, retry = index.ErrResourceExhausted, true
	case codes.Unauthenticated, codes.PermissionDenied:
		sentinel = index.ErrUnauthenticated
	case codes.NotFound:
		sentinel = index.ErrNotFound
	case codes.InvalidArgument, codes.FailedPrecondition, codes.OutOfRange:
		sentinel = invalid
	default: // Canceled without a cancelled context (a closed client), Internal, Unknown, ...
		return fmt.Errorf("vertex: %s: %w", op, err)
	}
	e := fmt.Errorf("vertex: %s: %w: %w", op, sentinel, err)
	if retry {
		return driver.Temporary(e, retryDelay(st))
	}
	return e
}

// retryDelay returns the server's RetryInfo hint, if any.
func retryDelay(st *status.Status) time.Duration {
	for _, det := range st.Details() {
		if ri, ok := det.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			return ri.GetRetryDelay().AsDuration()
		}
	}
	return 0
}
