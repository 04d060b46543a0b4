package pinecone

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	pc "github.com/pinecone-io/go-pinecone/v5/pinecone"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
)

// Error is the error the Store returns for a failed Pinecone call. It wraps
// one of index's sentinel errors (errors.Is) and the client's original error
// (errors.As reaches *pinecone.PineconeError or the gRPC status error). Its
// message never contains the API key.
type Error struct {
	// Op names the operation, e.g. "upsert" or "describe index".
	Op string
	// HTTPStatus is the control plane's HTTP status, or 0.
	HTTPStatus int
	// GRPCCode is the data plane's gRPC code, or codes.OK.
	GRPCCode codes.Code
	// Message is Pinecone's message, with the API key removed.
	Message string
	// RetryAfter is the wait the service asked for, or 0.
	RetryAfter time.Duration

	kind error // an index sentinel
	orig error
}

// Error implements error.
func (e *Error) Error() string {
	return fmt.Sprintf("pinecone: %s: %v: %s", e.Op, e.kind, e.Message)
}

// Unwrap returns the sentinel and the client's error.
func (e *Error) Unwrap() []error { return []error{e.kind, e.orig} }

// retryAfterError carries a retry-after trailer captured by the interceptor.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }
func (e *retryAfterError) Unwrap() error { return e.err }

// GRPCStatus lets status.FromError see through the wrapper.
func (e *retryAfterError) GRPCStatus() *status.Status { return status.Convert(e.err) }

// trailerInterceptor records the retry-after trailer of a failed call.
func trailerInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	var tr metadata.MD
	err := invoker(ctx, method, req, reply, cc, append(opts, grpc.Trailer(&tr))...)
	if err != nil {
		if v := tr.Get("retry-after"); len(v) > 0 {
			if d := parseRetryAfter(v[0]); d > 0 {
				return &retryAfterError{err: err, after: d}
			}
		}
	}
	return err
}

func parseRetryAfter(s string) time.Duration {
	if n, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil && n > 0 && n < 3600 {
		return time.Duration(n * float64(time.Second))
	}
	return 0
}

// mapError turns a client error into an *Error wrapping a sentinel, marked
// retryable (driver.Temporary) for 429, 5xx, Unavailable, ResourceExhausted
// and the deadline of one attempt. Context cancellation is returned as the
// context's error. secret is removed from every message.
func mapError(ctx context.Context, op, secret string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := driver.ContextError(ctx); cerr != nil {
		return fmt.Errorf("pinecone: %s: %w", op, cerr)
	}
	e := &Error{Op: op, orig: err}
	var ra *retryAfterError
	if errors.As(err, &ra) {
		e.RetryAfter = ra.after
	}
	var pe *pc.PineconeError
	if errors.As(err, &pe) {
		e.HTTPStatus = pe.Code
		e.Message = controlMessage(pe)
		e.kind = httpKind(pe.Code)
	} else if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
		e.GRPCCode = st.Code()
		e.Message = st.Message()
		e.kind = grpcKind(st.Code(), st.Message())
	} else {
		e.Message = err.Error()
		e.kind = index.ErrUnavailable
		if st, ok := status.FromError(err); ok {
			e.GRPCCode = st.Code()
			e.Message = st.Message()
		}
	}
	e.Message = redact(e.Message, secret)
	switch e.kind {
	case index.ErrUnavailable, index.ErrResourceExhausted:
		return driver.Temporary(e, e.RetryAfter)
	}
	return e
}

// controlMessage extracts Pinecone's message from the client's error, whose
// text is a JSON object {"status_code","body","error_code","message"}.
func controlMessage(pe *pc.PineconeError) string {
	raw := pe.Error()
	var m struct {
		Body      string `json:"body"`
		ErrorCode string `json:"error_code"`
		Message   string `json:"message"`
	}
	if i := strings.IndexByte(raw, '{'); i >= 0 && json.Unmarshal([]byte(raw[i:]), &m) == nil {
		switch {
		case m.Message != "" && m.ErrorCode != "":
			return m.ErrorCode + ": " + m.Message
		case m.Message != "":
			return m.Message
		case m.Body != "":
			return m.Body
		}
	}
	return raw
}

func httpKind(code int) error {
	switch {
	case code == 401 || code == 403:
		return index.ErrUnauthenticated
	case code == 404:
		return index.ErrNotFound
	case code == 429:
		return index.ErrResourceExhausted
	case code >= 500:
		return index.ErrUnavailable
	}
	return index.ErrInvalidArgument
}

func grpcKind(c codes.Code, msg string) error {
	switch c {
	case codes.Unauthenticated, codes.PermissionDenied:
		return index.ErrUnauthenticated
	case codes.NotFound:
		return index.ErrNotFound
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition, codes.AlreadyExists:
		if strings.Contains(strings.ToLower(msg), "dimension") {
			return index.ErrDimension
		}
		return index.ErrInvalidArgument
	case codes.ResourceExhausted:
		return index.ErrResourceExhausted
	case codes.Unavailable, codes.DeadlineExceeded, codes.Internal, codes.Aborted:
		return index.ErrUnavailable
	}
	return index.ErrUnavailable
}

func redact(s, secret string) string {
	if secret == "" {
		return s
	}
	return strings.ReplaceAll(s, secret, "[REDACTED]")
}
