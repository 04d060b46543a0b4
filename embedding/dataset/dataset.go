package dataset

import (
	"errors"
	"fmt"
	"iter"
	"path"
	"strings"

	"github.com/shoalhq/shoal/embedding"
)

// Errors returned by this package; test with errors.Is.
var (
	// ErrInvalidData reports malformed content: a bad row or line, a path
	// that escapes the folder, a duplicate ID, a wrong IDX magic number or
	// counts that disagree.
	ErrInvalidData = errors.New("dataset: invalid data")
	// ErrInvalidOption reports an option with an unusable value, or one
	// passed to a loader it does not apply to.
	ErrInvalidOption = errors.New("dataset: invalid option")
)

// Option configures a loader. Each option checks its own value; an
// unusable one, or one the loader does not read, makes the loader return
// an error wrapping [ErrInvalidOption] that names it.
type Option func(*config) error

type config struct {
	idPrefix string
	extra    map[string]any // WithMetadata
	classes  []string       // WithClasses; IDX only
}

// WithIDPrefix prepends prefix to every ID (default: none), so that two
// sets can share a store namespace (for example "train-" and "test-").
func WithIDPrefix(prefix string) Option {
	return func(c *config) error {
		c.idPrefix = prefix
		return nil
	}
}

// WithMetadata adds key with value to every item's metadata (default:
// none), for example WithMetadata("split", "test"). The value is a string,
// bool, int64, float64 or []string (the values a store keeps); a key the
// item itself has (such as "label", or a manifest column) keeps the item's
// value. Keys must be non-empty and must not start with '$'.
func WithMetadata(key string, value any) Option {
	return func(c *config) error {
		call := fmt.Sprintf("WithMetadata(%q, %#v)", key, value)
		if err := checkKey(key); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrInvalidOption, call, err)
		}
		switch v := value.(type) {
		case string, bool, int64, float64:
		case []string:
			value = append([]string(nil), v...)
		default:
			return fmt.Errorf("%w: %s: value of type %T (want string, bool, int64, float64 or []string)", ErrInvalidOption, call, value)
		}
		if c.extra == nil {
			c.extra = map[string]any{}
		}
		c.extra[key] = value
		return nil
	}
}

// WithClasses names the classes of an IDX labels file: label n becomes
// names[n] in the "label" metadata (default: the label number in decimal,
// "0" to "255"). A label without a name is an error. It applies to
// [LoadIDX] and [ReadIDX] only.
func WithClasses(names ...string) Option {
	return func(c *config) error {
		if len(names) == 0 || len(names) > 256 {
			return fmt.Errorf("%w: WithClasses with %d names: want 1 to 256", ErrInvalidOption, len(names))
		}
		for i, n := range names {
			if n == "" {
				return fmt.Errorf("%w: WithClasses: name %d is empty", ErrInvalidOption, i)
			}
		}
		c.classes = append([]string(nil), names...)
		return nil
	}
}

// newConfig applies opts for the loader named call; idx reports whether
// it reads IDX files (the only ones WithClasses applies to).
func newConfig(call string, idx bool, opts []Option) (config, error) {
	var c config
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return c, err
		}
	}
	if c.classes != nil && !idx {
		return c, fmt.Errorf("%w: WithClasses does not apply to %s (it names IDX labels)", ErrInvalidOption, call)
	}
	return c, nil
}

// metadata returns the metadata of an item: the WithMetadata values, then
// own over them.
func (c *config) metadata(own map[string]any) map[string]any {
	md := make(map[string]any, len(c.extra)+len(own))
	for k, v := range c.extra {
		if s, ok := v.([]string); ok {
			v = append([]string(nil), s...)
		}
		md[k] = v
	}
	for k, v := range own {
		md[k] = v
	}
	return md
}

// checkKey reports whether key can name a metadata field.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("empty key")
	case strings.HasPrefix(key, "$"):
		return fmt.Errorf("key %q starts with '$'", key)
	}
	return nil
}

// mimeTypes maps lower-case file extensions to MIME types.
var mimeTypes = map[string]string{
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".jpeg": "image/jpeg",
	".gif":  "image/gif",
	".webp": "image/webp",
	".bmp":  "image/bmp",
	".tif":  "image/tiff",
	".tiff": "image/tiff",
}

// mimeType returns the MIME type of a file named p, or "" when unknown.
func mimeType(p string) string {
	return mimeTypes[strings.ToLower(path.Ext(p))]
}

// collect gathers a stream into a slice, stopping at the first error.
func collect(seq iter.Seq2[embedding.Input, error]) ([]embedding.Input, error) {
	var out []embedding.Input
	for in, err := range seq {
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}
