package dataset

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/shoalhq/shoal/embedding"
)

// Manifest columns with a meaning of their own; every other column is
// metadata.
const (
	// ColumnID holds the item's ID (default: its path).
	ColumnID = "id"
	// ColumnPath holds the path of the item's file, relative to the
	// manifest's directory, '/'-separated.
	ColumnPath = "path"
	// ColumnText holds the item's text.
	ColumnText = "text"
)

// MaxManifestLine is the longest line, in bytes, of a JSON Lines manifest.
const MaxManifestLine = 16 << 20

// LoadManifest reads the manifest file at name: a CSV file with a header
// row, or JSON Lines (one JSON object per line), chosen by the extension
// (.csv; .jsonl, .ndjson or .json) or, for another extension, by whether
// the file starts with '{'.
//
// Each row or object is one item. Its "id" is the input's ID (after
// [WithIDPrefix]; it defaults to the path), "path" names a file relative to
// the manifest's directory whose bytes become Image (with the MIMEType of
// its extension; several items may share a file), and "text" is the Text; an item needs a path or a text
// (or both). Every other column is metadata, and "path" is kept as
// metadata too. In a CSV manifest metadata values are strings and an empty
// cell sets nothing; in JSON Lines they are strings, booleans, numbers
// (int64 when integral, else float64) or arrays of strings, and null sets
// nothing. A manifest that lists no item is an error.
//
// Errors name the manifest and the line: a row with the wrong number of
// fields, invalid JSON, an item with neither path nor text, a duplicate
// ID, a path escaping the manifest's directory, a file that cannot be
// read. [WithClasses] does not apply.
func LoadManifest(name string, opts ...Option) ([]embedding.Input, error) {
	return collect(ScanManifest(name, opts...))
}

// ScanManifest is [LoadManifest] as a stream: it reads one item at a time,
// so a manifest of millions of items never sits in memory (only their IDs,
// to refuse duplicates). It ends with the first error.
func ScanManifest(name string, opts ...Option) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		c, err := newConfig("LoadManifest", false, opts)
		if err != nil {
			yield(embedding.Input{}, err)
			return
		}
		f, err := os.Open(name)
		if err != nil {
			yield(embedding.Input{}, fmt.Errorf("dataset: %w", err))
			return
		}
		defer f.Close()
		root, err := os.OpenRoot(filepath.Dir(name))
		if err != nil {
			yield(embedding.Input{}, fmt.Errorf("dataset: %w", err))
			return
		}
		defer root.Close()
		br := bufio.NewReader(f)
		rows := csvRows
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv":
		case ".jsonl", ".ndjson", ".json":
			rows = jsonRows
		default:
			if head, _ := br.Peek(1); len(head) == 1 && head[0] == '{' {
				rows = jsonRows
			}
		}
		m := manifest{cfg: &c, name: name, root: root, ids: map[string]int{}}
		n := 0
		for row, err := range rows(name, br) {
			var in embedding.Input
			if err == nil {
				in, err = m.item(row)
			}
			if err != nil {
				yield(embedding.Input{}, err)
				return
			}
			n++
			if !yield(in, nil) {
				return
			}
		}
		if n == 0 {
			yield(embedding.Input{}, fmt.Errorf("%w: %s lists no item", ErrInvalidData, name))
		}
	}
}

// row is one item of a manifest: its line and its fields.
type row struct {
	line           int
	id, path, text string
	meta           map[string]any
}

// manifest turns rows into inputs.
type manifest struct {
	cfg  *config
	name string
	root *os.Root
	ids  map[string]int // line of each ID seen
}

func (m *manifest) item(r row) (embedding.Input, error) {
	bad := func(format string, args ...any) (embedding.Input, error) {
		return embedding.Input{}, fmt.Errorf("%w: %s line %d: "+format, append([]any{ErrInvalidData, m.name, r.line}, args...)...)
	}
	if r.path == "" && r.text == "" {
		return bad("neither %q nor %q", ColumnPath, ColumnText)
	}
	var in embedding.Input
	if r.path != "" {
		var err error
		if in, err = readFile(m.root, m.name, r.line, r.path, nil); err != nil {
			return embedding.Input{}, err
		}
		r.meta[ColumnPath] = in.ID
	}
	id := r.id
	if id == "" {
		if r.path == "" {
			return bad("no %q (required when there is no %q)", ColumnID, ColumnPath)
		}
		id = in.ID
	}
	if prev, dup := m.ids[id]; dup {
		return bad("ID %q already used on line %d", id, prev)
	}
	m.ids[id] = r.line
	in.ID = m.cfg.idPrefix + id
	in.Text = r.text
	in.Metadata = m.cfg.metadata(r.meta)
	return in, nil
}

// csvRows streams the rows of a CSV manifest read from r.
func csvRows(name string, r io.Reader) iter.Seq2[row, error] {
	return func(yield func(row, error) bool) {
		cr := csv.NewReader(r)
		header, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			yield(row{}, csvError(name, err))
			return
		}
		header = append([]string(nil), header...)
		seen := map[string]bool{}
		for i, h := range header {
			h = strings.TrimSpace(h)
			if i == 0 {
				h = strings.TrimPrefix(h, "\ufeff") // a byte order mark
			}
			if err := checkKey(h); err != nil {
				yield(row{}, fmt.Errorf("%w: %s line 1: column %d: %v", ErrInvalidData, name, i+1, err))
				return
			}
			if seen[h] {
				yield(row{}, fmt.Errorf("%w: %s line 1: column %q appears twice", ErrInvalidData, name, h))
				return
			}
			seen[h] = true
			header[i] = h
		}
		if !seen[ColumnPath] && !seen[ColumnText] {
			yield(row{}, fmt.Errorf("%w: %s line 1: the header has neither %q nor %q", ErrInvalidData, name, ColumnPath, ColumnText))
			return
		}
		for {
			fields, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				yield(row{}, csvError(name, err))
				return
			}
			line, _ := cr.FieldPos(0)
			r := row{line: line, meta: map[string]any{}}
			for i, v := range fields {
				switch header[i] {
				case ColumnID:
					r.id = strings.TrimSpace(v)
				case ColumnPath:
					r.path = strings.TrimSpace(v)
				case ColumnText:
					r.text = v
				default:
					if v != "" {
						r.meta[header[i]] = v
					}
				}
			}
			if !yield(r, nil) {
				return
			}
		}
	}
}

// jsonRows streams the objects of a JSON Lines manifest read from r.
func jsonRows(name string, r io.Reader) iter.Seq2[row, error] {
	return func(yield func(row, error) bool) {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 0, 64<<10), MaxManifestLine)
		line := 0
		for sc.Scan() {
			line++
			text := bytes.TrimSpace(sc.Bytes())
			if line == 1 {
				text = bytes.TrimPrefix(text, []byte("\ufeff"))
			}
			if len(text) == 0 {
				continue
			}
			r, err := jsonRow(text)
			if err != nil {
				yield(row{}, fmt.Errorf("%w: %s line %d: %v", ErrInvalidData, name, line, err))
				return
			}
			r.line = line
			if !yield(r, nil) {
				return
			}
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				yield(row{}, fmt.Errorf("%w: %s line %d: longer than %d bytes", ErrInvalidData, name, line+1, MaxManifestLine))
				return
			}
			yield(row{}, fmt.Errorf("dataset: %s line %d: %w", name, line+1, err))
		}
	}
}

// jsonRow decodes one JSON Lines object.
func jsonRow(text []byte) (row, error) {
	dec := json.NewDecoder(bytes.NewReader(text))
	dec.UseNumber()
	var obj map[string]any
	if err := dec.Decode(&obj); err != nil {
		return row{}, fmt.Errorf("invalid JSON: %v", err)
	}
	if obj == nil {
		return row{}, errors.New("not a JSON object")
	}
	if dec.More() {
		return row{}, errors.New("more than one JSON value on the line")
	}
	r := row{meta: map[string]any{}}
	for k, v := range obj {
		if v == nil {
			continue
		}
		switch k {
		case ColumnID, ColumnPath, ColumnText:
			s, ok := v.(string)
			if !ok {
				return row{}, fmt.Errorf("%q is a %s, want a string", k, jsonType(v))
			}
			switch k {
			case ColumnID:
				r.id = s
			case ColumnPath:
				r.path = s
			default:
				r.text = s
			}
			continue
		}
		if err := checkKey(k); err != nil {
			return row{}, err
		}
		val, err := jsonValue(v)
		if err != nil {
			return row{}, fmt.Errorf("%q: %v", k, err)
		}
		r.meta[k] = val
	}
	return r, nil
}

// jsonValue converts a decoded JSON value to a metadata value.
func jsonValue(v any) (any, error) {
	switch v := v.(type) {
	case string, bool:
		return v, nil
	case json.Number:
		if i, err := v.Int64(); err == nil {
			return i, nil
		}
		f, err := v.Float64()
		if err != nil || math.IsInf(f, 0) {
			return nil, fmt.Errorf("number %s out of range", v)
		}
		return f, nil
	case []any:
		out := make([]string, len(v))
		for i, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("element %d is a %s; arrays hold strings only", i, jsonType(e))
			}
			out[i] = s
		}
		return out, nil
	}
	return nil, fmt.Errorf("a %s; want a string, boolean, number or array of strings", jsonType(v))
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "null"
}
