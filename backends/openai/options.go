package openai

import (
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/openai/openai-go/v3/option"
)

// Option configures [NewEncoder]. Each option checks its value and
// documents its default; an unusable value makes NewEncoder fail with an
// error naming the option and wrapping [ErrInvalidOption].
type Option func(*config) error

// config is what the options set.
type config struct {
	baseURL        string
	apiKey         *string
	model          string
	dimensions     int
	modelName      string
	normalized     *bool
	format         string
	maxInputs      int
	maxReqTokens   int
	maxInputTokens int
	truncate       bool
	count          func(string) int
	images         bool
	httpClient     *http.Client
	timeout        time.Duration
	clientOpts     []option.RequestOption
}

// Defaults of [NewEncoder]: OpenAI's service and its limits ("Create
// embeddings", https://platform.openai.com/docs/api-reference/embeddings/create:
// "The input must not exceed the max input tokens for the model (8192
// tokens for all embedding models), cannot be an empty string, and any
// array must be 2048 dimensions or less. ... all embedding models enforce a
// maximum of 300,000 tokens summed across all inputs in a single request").
const (
	// DefaultBaseURL is OpenAI's API.
	DefaultBaseURL = "https://api.openai.com/v1"
	// DefaultModel is the model NewEncoder asks for without [WithModel].
	DefaultModel = "text-embedding-3-small"
	// DefaultMaxInputs is the most inputs in one request (OpenAI: 2,048).
	DefaultMaxInputs = 2048
	// DefaultMaxRequestTokens is the most tokens, summed over the inputs,
	// in one request (OpenAI: 300,000).
	DefaultMaxRequestTokens = 300_000
	// DefaultMaxInputTokens is the most tokens in one input (OpenAI: 8,192
	// for every embedding model).
	DefaultMaxInputTokens = 8192
	// DefaultMaxIdleConns is the default HTTP client's idle connections
	// per host (see [WithHTTPClient]).
	DefaultMaxIdleConns = 64
	// DefaultTimeout bounds one HTTP request (the caller's context bounds
	// the call as a whole).
	DefaultTimeout = 60 * time.Second
)

// Encoding formats, for [WithEncodingFormat].
const (
	// Base64 asks for each vector as base64 of little-endian float32s:
	// about a quarter of the bytes of Float and exact.
	Base64 = "base64"
	// Float asks for each vector as a JSON array of numbers, for servers
	// that do not take encoding_format=base64.
	Float = "float"
)

// WithBaseURL sets the server, up to and including the API version path:
// "https://api.openai.com/v1" (default: $OPENAI_BASE_URL if set, else
// [DefaultBaseURL]), "http://localhost:11434/v1" (Ollama),
// "http://localhost:8080/v1" (Text Embeddings Inference),
// "http://localhost:7997" (Infinity), "http://localhost:8000/v1" (vLLM).
// The encoder posts to BASE/embeddings.
func WithBaseURL(u string) Option {
	return func(c *config) error {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return optionErrorf("WithBaseURL(%q): want an http or https URL with a host", u)
		}
		c.baseURL = u
		return nil
	}
}

// WithAPIKey sets the API key sent as a bearer token. Default: the
// environment's OPENAI_API_KEY when the base URL is OpenAI's
// (api.openai.com), none otherwise, so that an OpenAI key is never sent to
// another server by accident; self-hosted servers (Ollama, TEI, Infinity,
// vLLM) usually need none. The key never appears in this package's errors
// or logs. An empty key sends no Authorization header.
func WithAPIKey(key string) Option {
	return func(c *config) error {
		c.apiKey = &key
		return nil
	}
}

// WithModel sets the model to ask for (default [DefaultModel]). Name it as
// the server does: "text-embedding-3-large" (OpenAI), "nomic-embed-text"
// (Ollama), "BAAI/bge-small-en-v1.5" (TEI, Infinity, vLLM), an Azure
// deployment name.
func WithModel(name string) Option {
	return func(c *config) error {
		if name == "" {
			return optionErrorf("WithModel: empty model name")
		}
		c.model = name
		return nil
	}
}

// WithDimensions asks the server for vectors of n dimensions (the request's
// dimensions parameter, which text-embedding-3 models and Matryoshka models
// on vLLM take; others refuse it). Default: none is sent, and the vector
// length is the model's (known for OpenAI's models, otherwise learnt from
// one request NewEncoder sends).
func WithDimensions(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return optionErrorf("WithDimensions(%d): want at least 1", n)
		}
		c.dimensions = n
		return nil
	}
}

// WithModelName sets Info().Model, the name store namespaces are keyed by
// (default: the model and its vector length, for example
// "text-embedding-3-small/1536"). Name a fine-tuned or locally built model's
// version here so that two models never share a namespace.
func WithModelName(name string) Option {
	return func(c *config) error {
		if name == "" {
			return optionErrorf("WithModelName: empty name")
		}
		c.modelName = name
		return nil
	}
}

// WithNormalized sets Info().Normalized, whether the model returns unit
// vectors. Default: true for OpenAI's embedding models (whose vectors are
// normalized to length 1), false for any other model.
func WithNormalized(on bool) Option {
	return func(c *config) error {
		c.normalized = &on
		return nil
	}
}

// WithEncodingFormat sets the encoding_format asked for: [Base64] (default)
// or [Float]. Answers in either form are read whichever was asked for, so a
// server that ignores the parameter still works; use Float for a server
// that refuses base64.
func WithEncodingFormat(f string) Option {
	return func(c *config) error {
		if f != Base64 && f != Float {
			return optionErrorf("WithEncodingFormat(%q): want %q or %q", f, Base64, Float)
		}
		c.format = f
		return nil
	}
}

// WithMaxInputs sets the most inputs in one request (default
// [DefaultMaxInputs], OpenAI's 2,048). Info().MaxBatch reports it, so
// embedding.EncodeAll never sends more; Encode splits a larger call into
// several requests. Text Embeddings Inference takes 32 by default (its
// --max-client-batch-size), Infinity 2,048 texts and 32 images.
func WithMaxInputs(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return optionErrorf("WithMaxInputs(%d): want at least 1", n)
		}
		c.maxInputs = n
		return nil
	}
}

// WithMaxRequestTokens sets the most tokens, summed over the inputs, in one
// request (default [DefaultMaxRequestTokens], OpenAI's 300,000). Encode
// splits a call over it into several requests, and Info().MaxBatchBytes is
// derived from it (see [Encoder.Info]).
func WithMaxRequestTokens(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return optionErrorf("WithMaxRequestTokens(%d): want at least 1", n)
		}
		c.maxReqTokens = n
		return nil
	}
}

// WithMaxInputTokens sets the most tokens in one input (default
// [DefaultMaxInputTokens], OpenAI's 8,192; BERT-class models on TEI or
// Infinity take 512). A longer input is an error naming it, wrapping
// embedding.ErrInvalidInput, unless [WithTruncate].
func WithMaxInputTokens(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return optionErrorf("WithMaxInputTokens(%d): want at least 1", n)
		}
		c.maxInputTokens = n
		return nil
	}
}

// WithTruncate cuts a text over the per-input token limit to its longest
// prefix within it (at a character boundary, as the token counter counts)
// instead of failing the input. Default: off; the vector of a cut text
// describes only its beginning, so opt in only where that is acceptable.
func WithTruncate() Option {
	return func(c *config) error {
		c.truncate = true
		return nil
	}
}

// WithTokenCounter sets how a text's tokens are counted for the limits
// (default [CountTokens], exact for OpenAI's models; as a byte-level BPE it
// never counts more tokens than bytes, so the encoder counts only texts
// whose length could break a limit). Pass
// [EstimateTokens] for a server whose tokenizer is unknown, or a function
// over the model's own tokenizer. It must be safe for concurrent use.
func WithTokenCounter(count func(text string) int) Option {
	return func(c *config) error {
		if count == nil {
			return optionErrorf("WithTokenCounter(nil)")
		}
		c.count = count
		return nil
	}
}

// WithImages sends image inputs (embedding.Input.Image bytes, or
// Input.Decoded, encoded as PNG) as data: URIs, and http(s) Input.URI
// values as they are, in requests of their own with "modality": "image",
// the form Infinity takes for CLIP-class models
// (infinity_emb/fastapi_schemas/pymodels.py, OpenAIEmbeddingInput_Image).
// Default: off, and an image input is an error naming it.
func WithImages() Option {
	return func(c *config) error {
		c.images = true
		return nil
	}
}

// WithHTTPClient sets the HTTP client (default: one on a clone of
// http.DefaultTransport keeping up to [DefaultMaxIdleConns] idle
// connections per host, so that embedding.EncodeAll's concurrent requests
// reuse their connections; Go's default keeps 2). Use it for proxies, TLS
// settings or transport-level instrumentation, and keep
// MaxIdleConnsPerHost at least the concurrency.
func WithHTTPClient(h *http.Client) Option {
	return func(c *config) error {
		if h == nil {
			return optionErrorf("WithHTTPClient(nil)")
		}
		c.httpClient = h
		return nil
	}
}

// WithRequestTimeout bounds one HTTP request (default [DefaultTimeout]). A
// request that runs out of it fails with a retryable error; the caller's
// context still bounds the whole call.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d <= 0 {
			return optionErrorf("WithRequestTimeout(%v): want a positive duration", d)
		}
		c.timeout = d
		return nil
	}
}

// WithClientOptions passes request options to the openai-go client, after
// this package's own: Azure OpenAI's azure.WithEndpoint and
// azure.WithAPIKey (github.com/openai/openai-go/v3/azure), extra headers,
// middleware. Options that turn the client's retries back on are
// overridden: retrying is embedding.EncodeAll's.
func WithClientOptions(opts ...option.RequestOption) Option {
	return func(c *config) error {
		for i, o := range opts {
			if o == nil {
				return optionErrorf("WithClientOptions: option %d is nil", i)
			}
		}
		c.clientOpts = append(c.clientOpts, opts...)
		return nil
	}
}

// optionError is an unusable option or argument: its text names the
// package once, then the option and the reason; it wraps ErrInvalidOption
// (and so embedding.ErrInvalidOption).
type optionError struct{ msg string }

func (e *optionError) Error() string { return "openai: " + e.msg }
func (e *optionError) Unwrap() error { return ErrInvalidOption }

func optionErrorf(format string, args ...any) error {
	return &optionError{fmt.Sprintf(format, args...)}
}
