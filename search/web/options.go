package web

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/internal/errs"
)

// Defaults of the options.
const (
	// DefaultMaxBody is the largest request body read, in bytes (8 MiB).
	DefaultMaxBody = 8 << 20
	// DefaultMaxUpload is the largest uploaded image, in bytes once decoded
	// from base64 (4 MiB).
	DefaultMaxUpload = 4 << 20
	// DefaultMaxSessions is how many feedback sessions are kept in memory;
	// older ones are dropped from memory (not from the session store) and
	// resumed from the store on their next use.
	DefaultMaxSessions = 1000
	// DefaultMapPoints is how many points a map shows at most.
	DefaultMapPoints = 3000
	// DefaultLabelField is the metadata field maps colour by and the page
	// shows under each thumbnail.
	DefaultLabelField = "label"
	// MaxK is the largest k, n or top a request may ask for.
	MaxK = 1000
)

// ErrInvalidOption reports an option of [New] with an unusable value. It
// wraps index.ErrInvalidArgument.
var ErrInvalidOption error = errs.Sentinel("web: invalid option", index.ErrInvalidArgument)

func errorf(hidden error, format string, args ...any) error {
	return errs.Errorf("web", hidden, format, args...)
}

// Option configures a [Handler]. Each option checks its value and reports a
// bad one as an error wrapping [ErrInvalidOption] that names the option; a
// nil Option is ignored.
type Option func(*config) error

type config struct {
	encoder     embedding.Encoder
	items       ItemSource
	sessions    SessionStore
	auth        AuthFunc
	maxBody     int64
	maxUpload   int64
	maxSessions int
	mapPoints   int
	labelField  string
	fields      []string
	cors        []string
	logger      *slog.Logger
	feedback    []feedback.Option
	title       string
}

func defaultConfig() config {
	return config{
		maxBody:     DefaultMaxBody,
		maxUpload:   DefaultMaxUpload,
		maxSessions: DefaultMaxSessions,
		mapPoints:   DefaultMapPoints,
		labelField:  DefaultLabelField,
		logger:      slog.New(slog.DiscardHandler),
		title:       "Shoal curation",
	}
}

// AuthFunc maps a request to a tenant, or refuses it. The tenant scopes
// feedback sessions: a session created under one tenant is not found under
// another. Return an error to refuse the request (the handler answers 401
// with the error's text); an [*HTTPError] sets its own status (403, say).
type AuthFunc func(r *http.Request) (tenant string, err error)

// WithEncoder sets the encoder that embeds examples given as text or as an
// uploaded image. It must be the encoder whose vectors the namespace holds.
// Default: none; such examples are then a 400 error naming the field.
func WithEncoder(e embedding.Encoder) Option {
	return func(c *config) error {
		if e == nil {
			return errorf(ErrInvalidOption, "WithEncoder: nil encoder")
		}
		c.encoder = e
		return nil
	}
}

// WithItems sets where thumbnails and display fields come from: a
// directory ([Dir]), a URL template ([URLTemplate]) or a function
// ([ItemFunc]). Default: no thumbnails; items show their metadata only.
func WithItems(s ItemSource) Option {
	return func(c *config) error {
		if s == nil {
			return errorf(ErrInvalidOption, "WithItems: nil item source")
		}
		c.items = s
		return nil
	}
}

// WithSessionStore sets where feedback sessions are saved after every
// change and resumed from. Default: [NewMemorySessions] (lost when the
// process ends); [NewDirSessions] keeps them in a directory.
func WithSessionStore(s SessionStore) Option {
	return func(c *config) error {
		if s == nil {
			return errorf(ErrInvalidOption, "WithSessionStore: nil store")
		}
		c.sessions = s
		return nil
	}
}

// WithAuth sets the function that admits each API request and names its
// tenant. Default: none; every request is admitted as tenant "" (session
// IDs are then the only protection: 128 random bits each).
func WithAuth(f AuthFunc) Option {
	return func(c *config) error {
		if f == nil {
			return errorf(ErrInvalidOption, "WithAuth: nil function")
		}
		c.auth = f
		return nil
	}
}

// WithMaxBody sets the largest request body read, in bytes, n ≥ 1024; a
// larger body is a 413 error. Default: DefaultMaxBody (8 MiB).
func WithMaxBody(n int64) Option {
	return func(c *config) error {
		if n < 1024 {
			return errorf(ErrInvalidOption, "WithMaxBody: %d < 1024", n)
		}
		c.maxBody = n
		return nil
	}
}

// WithMaxUpload sets the largest uploaded image, in bytes after base64
// decoding, n ≥ 1; a larger one is a 413 error naming the field. Default:
// DefaultMaxUpload (4 MiB).
func WithMaxUpload(n int64) Option {
	return func(c *config) error {
		if n < 1 {
			return errorf(ErrInvalidOption, "WithMaxUpload: %d < 1", n)
		}
		c.maxUpload = n
		return nil
	}
}

// WithMaxSessions sets how many feedback sessions stay in memory, n ≥ 1;
// the least recently used beyond it are resumed from the session store
// when next used. Default: DefaultMaxSessions (1000).
func WithMaxSessions(n int) Option {
	return func(c *config) error {
		if n < 1 {
			return errorf(ErrInvalidOption, "WithMaxSessions: %d < 1", n)
		}
		c.maxSessions = n
		return nil
	}
}

// WithMapPoints sets the most points a map shows, 3 ≤ n ≤ 100,000; a
// larger pool is sampled. Default: DefaultMapPoints (3000).
func WithMapPoints(n int) Option {
	return func(c *config) error {
		if n < 3 || n > 100_000 {
			return errorf(ErrInvalidOption, "WithMapPoints: %d out of range [3, 100000]", n)
		}
		c.mapPoints = n
		return nil
	}
}

// WithLabelField names the metadata field shown as each item's label and
// used to colour maps. Default: DefaultLabelField ("label").
func WithLabelField(name string) Option {
	return func(c *config) error {
		if name == "" {
			return errorf(ErrInvalidOption, "WithLabelField: empty name")
		}
		c.labelField = name
		return nil
	}
}

// WithFields limits the metadata fields sent to the page and written by
// the export to these names. Default: every field.
func WithFields(names ...string) Option {
	return func(c *config) error {
		for i, n := range names {
			if n == "" {
				return errorf(ErrInvalidOption, "WithFields: name %d is empty", i)
			}
		}
		c.fields = append([]string(nil), names...)
		return nil
	}
}

// WithCORS allows cross-origin API calls from these origins
// ("https://app.example.com", or "*" for any). Default: none; CORS is off
// and browsers refuse cross-origin calls.
func WithCORS(origins ...string) Option {
	return func(c *config) error {
		for i, o := range origins {
			if o != "*" && !strings.HasPrefix(o, "http://") && !strings.HasPrefix(o, "https://") {
				return errorf(ErrInvalidOption, "WithCORS: origin %d (%q) is not * nor an http(s) origin", i, o)
			}
		}
		c.cors = append([]string(nil), origins...)
		return nil
	}
}

// WithLogger sets the logger for server-side errors (5xx). Default: none.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) error {
		if l == nil {
			return errorf(ErrInvalidOption, "WithLogger: nil logger")
		}
		c.logger = l
		return nil
	}
}

// WithFeedbackOptions passes options to every feedback session
// (feedback.NewSession and feedback.Resume), after the handler's own
// (WithEncoder, and WithFilter and WithAggregation from the request).
// Default: none, feedback's defaults; then the sessions of one filter share
// a background sample drawn once (feedback.WithBackgroundSample), while
// with these options each session draws its own.
func WithFeedbackOptions(opts ...feedback.Option) Option {
	return func(c *config) error {
		c.feedback = append(c.feedback, opts...)
		return nil
	}
}

// WithTitle sets the page's title. Default: "Shoal curation".
func WithTitle(s string) Option {
	return func(c *config) error {
		c.title = s
		return nil
	}
}
