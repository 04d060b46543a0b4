package openai

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/driver"
	"github.com/shoalhq/shoal/internal/errs"
)

// ErrInvalidOption reports an option or argument with an unusable value.
// It wraps embedding.ErrInvalidOption.
var ErrInvalidOption error = errs.Sentinel("openai: invalid option", embedding.ErrInvalidOption)

// callError is a failed request: its text names the package once and never
// carries the API key; it wraps a Shoal sentinel and the client's error.
type callError struct {
	msg  string
	errs []error
}

func (e *callError) Error() string   { return e.msg }
func (e *callError) Unwrap() []error { return e.errs }

// invalidStatus reports whether an HTTP status means the server refused the
// request's content: 400 (OpenAI, vLLM, Ollama), 413 (TEI: more inputs than
// --max-client-batch-size, or a body over its payload limit) or 422 (TEI,
// Infinity: validation, for example an input over the model's length).
func invalidStatus(code int) bool {
	return code == http.StatusBadRequest || code == http.StatusRequestEntityTooLarge || code == http.StatusUnprocessableEntity
}

// mapError translates an error of the openai-go client for a request of
// the inputs in. The result's text is "openai: ..." with the server's
// message (never for 401/403, whose message may quote the key, and with
// the key cut out of any other); it wraps a sentinel and err, so errors.As
// still reaches *openai.Error. 429, 408, 5xx, timeouts and broken
// connections are marked retryable with the server's Retry-After.
func (e *Encoder) mapError(ctx context.Context, err error, in []item) error {
	if cerr := driver.ContextError(ctx); cerr != nil {
		return fmt.Errorf("openai: embeddings: %w", cerr)
	}
	var api *openai.Error
	if !errors.As(err, &api) {
		var nerr net.Error
		if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &nerr) {
			// One request ran out of WithRequestTimeout, or the connection
			// failed: the server may answer the next attempt.
			return driver.Temporary(&callError{
				msg:  fmt.Sprintf("openai: embeddings: %v: %s", index.ErrUnavailable, e.scrub(err.Error())),
				errs: []error{index.ErrUnavailable, err},
			}, 0)
		}
		return &callError{msg: "openai: embeddings: " + e.scrub(err.Error()), errs: []error{err}}
	}
	code := api.StatusCode
	detail := e.scrub(api.Message)
	if detail == "" && api.Response != nil {
		detail = http.StatusText(code)
	}
	switch {
	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return &callError{
			msg: fmt.Sprintf("openai: embeddings: %v: the server at %s refused the API key (HTTP %d); "+
				"set OPENAI_API_KEY or pass WithAPIKey", index.ErrUnauthenticated, e.host, code),
			errs: []error{index.ErrUnauthenticated, err},
		}
	case code == http.StatusTooManyRequests:
		return driver.Temporary(&callError{
			msg:  fmt.Sprintf("openai: embeddings: %v (HTTP 429): %s", index.ErrResourceExhausted, detail),
			errs: []error{index.ErrResourceExhausted, err},
		}, retryAfter(api.Response))
	case code == http.StatusRequestTimeout || code >= 500:
		return driver.Temporary(&callError{
			msg:  fmt.Sprintf("openai: embeddings: %v (HTTP %d): %s", index.ErrUnavailable, code, detail),
			errs: []error{index.ErrUnavailable, err},
		}, retryAfter(api.Response))
	case code == http.StatusNotFound:
		return &callError{
			msg:  fmt.Sprintf("openai: embeddings: model %q: %v (HTTP 404): %s", e.cfg.model, index.ErrNotFound, detail),
			errs: []error{index.ErrNotFound, err},
		}
	case invalidStatus(code):
		what := in[0].name()
		if len(in) > 1 {
			what = fmt.Sprintf("request of %d inputs from %s", len(in), in[0].name())
		}
		return &callError{
			msg:  fmt.Sprintf("openai: %s: %v (HTTP %d): %s", what, embedding.ErrInvalidInput, code, detail),
			errs: []error{embedding.ErrInvalidInput, err},
		}
	}
	return &callError{msg: fmt.Sprintf("openai: embeddings: HTTP %d: %s", code, detail), errs: []error{err}}
}

// scrub cuts the API key out of a server's or transport's message.
func (e *Encoder) scrub(msg string) string {
	if e.key != "" {
		msg = strings.ReplaceAll(msg, e.key, "[API key]")
	}
	return msg
}

// retryAfter reads the wait a server asks for: retry-after-ms (OpenAI),
// or Retry-After in seconds or as an HTTP date (RFC 9110, section 10.2.3).
// It returns 0 when there is none.
func retryAfter(r *http.Response) time.Duration {
	if r == nil {
		return 0
	}
	if ms, err := strconv.ParseFloat(r.Header.Get("Retry-After-Ms"), 64); err == nil && ms > 0 {
		return time.Duration(ms * float64(time.Millisecond))
	}
	v := r.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}
