package web

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net/url"
	"os"
	"path"
	"strings"

	"github.com/shoalhq/shoal/index"
)

// MaxThumbnail is the largest thumbnail [Dir] serves, in bytes (16 MiB).
const MaxThumbnail = 16 << 20

// Item is what an [ItemSource] knows about one item: its preview and the
// fields to show beside it.
type Item struct {
	// Thumbnail is the preview image's bytes, served with ContentType.
	Thumbnail   []byte
	ContentType string
	// URL, when Thumbnail is empty, is where the preview lives; the
	// handler redirects to it.
	URL string
	// Fields are extra display fields, shown after the record's metadata.
	Fields map[string]string
}

// ItemSource serves thumbnails and display fields for the items of the
// namespace. Item is given the record's ID and metadata (nil when the
// store was not asked); it returns an error wrapping index.ErrNotFound
// (or fs.ErrNotExist) for an item it does not know, which the handler
// answers with 404. Implementations must be safe for concurrent use.
type ItemSource interface {
	Item(ctx context.Context, id string, md index.Metadata) (Item, error)
}

// ItemFunc adapts a function to an [ItemSource].
type ItemFunc func(ctx context.Context, id string, md index.Metadata) (Item, error)

// Item calls f.
func (f ItemFunc) Item(ctx context.Context, id string, md index.Metadata) (Item, error) {
	return f(ctx, id, md)
}

// Dir returns an [ItemSource] serving each item's file from dir: the file
// named by the metadata field "path" when the record has one, else the file
// named by its ID, else the ID with one of the extensions .png, .jpg,
// .jpeg, .webp, .gif. Files are opened through an os.Root, so no ID or
// path reaches outside dir.
func Dir(dir string) (ItemSource, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, errorf(ErrInvalidOption, "Dir: %w", err)
	}
	return &dirSource{root: root}, nil
}

type dirSource struct{ root *os.Root }

var thumbExts = []string{"", ".png", ".jpg", ".jpeg", ".webp", ".gif"}

func (d *dirSource) Item(ctx context.Context, id string, md index.Metadata) (Item, error) {
	var names []string
	if p, ok := md["path"].(string); ok && p != "" {
		names = append(names, p)
	}
	for _, ext := range thumbExts {
		names = append(names, id+ext)
	}
	for _, name := range names {
		f, err := d.root.Open(path.Clean(name))
		if err != nil {
			continue
		}
		info, err := f.Stat()
		if err != nil || info.IsDir() {
			f.Close()
			continue
		}
		b, err := io.ReadAll(io.LimitReader(f, MaxThumbnail+1))
		f.Close()
		if err != nil {
			return Item{}, err
		}
		if len(b) > MaxThumbnail {
			return Item{}, errorf(nil, "thumbnail of %q is larger than %d bytes", id, MaxThumbnail)
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		return Item{Thumbnail: b, ContentType: ct}, nil
	}
	return Item{}, errorf(nil, "no file for item %q: %w", id, fs.ErrNotExist)
}

// URLTemplate returns an [ItemSource] whose thumbnails live at a URL built
// from tmpl: "{id}" is replaced by the path-escaped ID and "{field}" by the
// path-escaped value of that metadata field (for example
// "https://cdn.example.com/images/{id}.jpg"). The handler redirects
// thumbnail requests there.
func URLTemplate(tmpl string) (ItemSource, error) {
	u, err := url.Parse(strings.NewReplacer("{", "", "}", "").Replace(tmpl))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https" && !strings.HasPrefix(tmpl, "/")) {
		return nil, errorf(ErrInvalidOption, "URLTemplate: %q is not an http(s) URL nor an absolute path", tmpl)
	}
	if !strings.Contains(tmpl, "{") {
		return nil, errorf(ErrInvalidOption, "URLTemplate: %q names no {id} nor {field}", tmpl)
	}
	return ItemFunc(func(_ context.Context, id string, md index.Metadata) (Item, error) {
		var b strings.Builder
		rest := tmpl
		for {
			i := strings.IndexByte(rest, '{')
			j := strings.IndexByte(rest[i+1:], '}')
			if i < 0 || j < 0 {
				b.WriteString(rest)
				break
			}
			b.WriteString(rest[:i])
			name := rest[i+1 : i+1+j]
			var v string
			if name == "id" {
				v = id
			} else if s, ok := md[name]; ok {
				v = valueText(s)
			} else {
				return Item{}, errorf(nil, "item %q has no field %q for the URL template: %w", id, name, index.ErrNotFound)
			}
			b.WriteString(url.PathEscape(v))
			rest = rest[i+1+j+1:]
		}
		return Item{URL: b.String()}, nil
	}), nil
}

// notFound reports whether err means the item is unknown.
func notFound(err error) bool {
	return errors.Is(err, index.ErrNotFound) || errors.Is(err, fs.ErrNotExist)
}
