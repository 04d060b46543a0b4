package milvus

import (
	"context"
	"errors"
	"fmt"
	"github.com/shoalhq/shoal/index/driver"
	"strings"

	grpc_retry "github.com/grpc-ecosystem/go-grpc-middleware/retry"
	"github.com/milvus-io/milvus-proto/go-api/v2/commonpb"
	"github.com/milvus-io/milvus-sdk-go/v2/client"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/shoalhq/shoal/index"
)

// Milvus error codes (merr, Milvus 2.3+) the Store classifies.
const (
	codeServiceNotReady      = 1
	codeServiceUnavailable   = 2
	codeMemoryLimit          = 3
	codeRequestLimit         = 4
	codeDiskLimit            = 7
	codeRateLimit            = 8
	codeCollectionNotFound   = 100
	codeCollectionNotLoaded  = 101
	codeCollectionNotFull    = 103
	codePartitionNotFound    = 200
	codePartitionNotFull     = 202
	codeReplicaNotAvailable  = 401
	codeChannelNotAvailable  = 503
	codeIndexNotFound        = 700
	codeDatabaseNotFound     = 800
	codeNodeNotAvailable     = 905
	codeParameterInvalid     = 1100
	codeNotAuthenticated     = 1400
	codeNotPermitted         = 1401
	codeFieldNotFound        = 1700
	codeNeedAuthenticate     = 1800
	codeUnexpectedServerSide = 65535
)

// Error is the error the Store returns for a failed Milvus call. It wraps
// one of index's sentinel errors (errors.Is) and the client's original error
// (errors.As reaches *StatusError for a Milvus status, or the gRPC status
// error). Its message never contains the password or token.
type Error struct {
	// Op names the operation, e.g. "upsert records 0..999".
	Op string
	// Code is Milvus's error code (merr), or 0 for a transport error.
	Code int32
	// GRPCCode is the gRPC code of a transport error, or codes.OK.
	GRPCCode codes.Code
	// Message is the server's or client's message, with secrets removed.
	Message string

	kind error
	orig error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("milvus: %s: %v: code %d: %s", e.Op, e.kind, e.Code, e.Message)
	}
	return fmt.Sprintf("milvus: %s: %v: %s", e.Op, e.kind, e.Message)
}

// Unwrap returns the sentinel and the client's error.
func (e *Error) Unwrap() []error { return []error{e.kind, e.orig} }

// StatusError is a non-success commonpb.Status of a Milvus reply, captured
// by the Store's client interceptor before the SDK flattens it into a plain
// message. Reach it with errors.As from an *Error.
type StatusError struct {
	// Code is the merr code (0 from servers older than 2.3).
	Code int32
	// LegacyCode is the deprecated ErrorCode enum's name, e.g. "RateLimit".
	LegacyCode string
	// Reason is the server's message.
	Reason string
	// Retriable is the server's own hint.
	Retriable bool

	legacy commonpb.ErrorCode
}

// Error implements error.
func (e *StatusError) Error() string {
	return fmt.Sprintf("milvus status %d (%s): %s", e.Code, e.LegacyCode, e.Reason)
}

// statusInterceptor turns a reply carrying a failed Status into a
// *StatusError (the SDK would otherwise keep only the reason text), and
// disables the SDK's own retries of Unavailable and rate limits: the Store
// marks those errors retryable and index.UpsertAll's engine retries them,
// so that one policy (and the caller's context) governs every retry.
func statusInterceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	opts = append(opts, grpc_retry.Disable())
	ctx = context.WithValue(ctx, client.RetryOnRateLimit, false)
	if err := invoker(ctx, method, req, reply, cc, opts...); err != nil {
		return err
	}
	var st *commonpb.Status
	switch r := reply.(type) {
	case *commonpb.Status:
		st = r
	case interface{ GetStatus() *commonpb.Status }:
		st = r.GetStatus()
	}
	if st == nil {
		return nil // the SDK reports a missing status itself
	}
	//lint:ignore SA1019 servers before Milvus 2.3 set only the legacy code.
	legacy := st.GetErrorCode()
	if legacy == commonpb.ErrorCode_Success && st.GetCode() == 0 {
		return nil
	}
	return &StatusError{Code: st.GetCode(), LegacyCode: legacy.String(), Reason: st.GetReason(), Retriable: st.GetRetriable(), legacy: legacy}
}

// mapError turns a client error into an *Error wrapping a sentinel, marked
// retryable (driver.Temporary) when Milvus says to try again. A done context
// is returned as the context's cause. secrets are removed from messages.
func mapError(ctx context.Context, op string, secrets []string, err error) error {
	if err == nil {
		return nil
	}
	if cerr := driver.ContextError(ctx); cerr != nil {
		return fmt.Errorf("milvus: %s: %w", op, cerr)
	}
	e := &Error{Op: op, orig: err}
	retry := false
	var se *StatusError
	var cne client.ErrCollectionNotExists
	switch {
	case errors.As(err, &se):
		e.Code = se.Code
		e.Message = se.Reason
		e.kind, retry = statusKind(se)
	case errors.As(err, &cne):
		e.Code = codeCollectionNotFound
		e.Message = cne.Error()
		e.kind = index.ErrNotFound
	default:
		if st, ok := status.FromError(err); ok && st.Code() != codes.Unknown {
			e.GRPCCode = st.Code()
			e.Message = st.Message()
			e.kind, retry = grpcKind(st.Code())
		} else {
			// Client-side failures (bad column, schema checks) carry no code.
			e.Message = err.Error()
			e.kind = index.ErrInvalidArgument
			if errors.Is(err, client.ErrClientNotReady) || errors.Is(err, client.ErrStatusNil) {
				e.kind = index.ErrUnavailable
			}
		}
	}
	if e.kind == index.ErrInvalidArgument && strings.Contains(strings.ToLower(e.Message), "dimension") {
		e.kind = index.ErrDimension
	}
	e.Message = redact(e.Message, secrets)
	if retry {
		return driver.Temporary(e, 0)
	}
	return e
}

// statusKind classifies a Milvus status: the sentinel, and whether trying
// again may succeed.
func statusKind(se *StatusError) (error, bool) {
	switch se.Code {
	case codeServiceNotReady, codeServiceUnavailable, codeCollectionNotFull, codePartitionNotFull,
		codeReplicaNotAvailable, codeChannelNotAvailable, codeNodeNotAvailable:
		return index.ErrUnavailable, true
	case codeRequestLimit, codeRateLimit:
		return index.ErrResourceExhausted, true
	case codeMemoryLimit, codeDiskLimit:
		return index.ErrResourceExhausted, false
	case codeCollectionNotFound, codePartitionNotFound, codeIndexNotFound, codeDatabaseNotFound, codeFieldNotFound:
		return index.ErrNotFound, false
	case codeNotAuthenticated, codeNotPermitted, codeNeedAuthenticate:
		return index.ErrUnauthenticated, false
	case codeCollectionNotLoaded:
		return index.ErrUnavailable, false
	case codeParameterInvalid:
		return index.ErrInvalidArgument, false
	case 0:
		return legacyKind(se.legacy)
	}
	if se.Retriable {
		return index.ErrUnavailable, true
	}
	if se.Code >= 1000 && se.Code < 2000 || se.Code == codeUnexpectedServerSide {
		return index.ErrInvalidArgument, false
	}
	return index.ErrUnavailable, false
}

func legacyKind(c commonpb.ErrorCode) (error, bool) {
	switch c {
	case commonpb.ErrorCode_RateLimit:
		return index.ErrResourceExhausted, true
	case commonpb.ErrorCode_NotReadyServe, commonpb.ErrorCode_NotReadyCoordActivating, commonpb.ErrorCode_NotShardLeader,
		commonpb.ErrorCode_NoReplicaAvailable, commonpb.ErrorCode_TimeTickLongDelay, commonpb.ErrorCode_ConnectFailed, commonpb.ErrorCode_DataCoordNA:
		return index.ErrUnavailable, true
	case commonpb.ErrorCode_MemoryQuotaExhausted, commonpb.ErrorCode_DiskQuotaExhausted, commonpb.ErrorCode_InsufficientMemoryToLoad, commonpb.ErrorCode_ForceDeny:
		return index.ErrResourceExhausted, false
	case commonpb.ErrorCode_CollectionNotExists, commonpb.ErrorCode_CollectionNameNotFound, commonpb.ErrorCode_IndexNotExist:
		return index.ErrNotFound, false
	case commonpb.ErrorCode_PermissionDenied:
		return index.ErrUnauthenticated, false
	case commonpb.ErrorCode_IllegalDimension:
		return index.ErrDimension, false
	case commonpb.ErrorCode_UnexpectedError:
		return index.ErrUnavailable, false
	}
	return index.ErrInvalidArgument, false
}

func grpcKind(c codes.Code) (error, bool) {
	switch c {
	case codes.Unauthenticated, codes.PermissionDenied:
		return index.ErrUnauthenticated, false
	case codes.NotFound:
		return index.ErrNotFound, false
	case codes.InvalidArgument, codes.OutOfRange, codes.FailedPrecondition, codes.AlreadyExists:
		return index.ErrInvalidArgument, false
	case codes.ResourceExhausted:
		return index.ErrResourceExhausted, true
	case codes.Unavailable, codes.DeadlineExceeded, codes.Aborted:
		return index.ErrUnavailable, true
	}
	return index.ErrUnavailable, false
}

func redact(s string, secrets []string) string {
	for _, sec := range secrets {
		if sec != "" {
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		}
	}
	return s
}
