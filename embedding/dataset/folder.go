package dataset

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/shoalhq/shoal/embedding"
)

// LabelsFile is the name of the file that describes a labeled folder.
const LabelsFile = "labels.csv"

// LoadFolder reads the labeled folder dir: dir/labels.csv lists one image
// per row as "path,label" (a first row "path,label" is a header and is
// skipped), with paths relative to dir, '/'-separated, inside dir. Each
// input has the path as ID (after [WithIDPrefix]), the file's bytes as
// Image with the MIMEType of its extension, and Metadata "label" and
// "path". A folder that lists no image is an error.
//
// Errors name labels.csv and the line: a row without two fields, an empty
// path or label, a path listed twice or escaping dir, a file that cannot
// be read. [WithClasses] does not apply.
func LoadFolder(dir string, opts ...Option) ([]embedding.Input, error) {
	return collect(ScanFolder(dir, opts...))
}

// ScanFolder is [LoadFolder] as a stream: it reads one image at a time, so
// a large folder never sits in memory. It ends with the first error.
func ScanFolder(dir string, opts ...Option) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		c, err := newConfig("LoadFolder", false, opts)
		if err != nil {
			yield(embedding.Input{}, err)
			return
		}
		name := filepath.Join(dir, LabelsFile)
		f, err := os.Open(name)
		if err != nil {
			yield(embedding.Input{}, fmt.Errorf("dataset: %w", err))
			return
		}
		defer f.Close()
		root, err := os.OpenRoot(dir)
		if err != nil {
			yield(embedding.Input{}, fmt.Errorf("dataset: %w", err))
			return
		}
		defer root.Close()
		r := csv.NewReader(f)
		r.FieldsPerRecord = 2
		r.TrimLeadingSpace = true
		r.ReuseRecord = true
		seen := map[string]int{}
		n := 0
		for first := true; ; first = false {
			row, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				yield(embedding.Input{}, csvError(name, err))
				return
			}
			line, _ := r.FieldPos(0)
			if first && strings.EqualFold(row[0], "path") && strings.EqualFold(strings.TrimSpace(row[1]), "label") {
				continue
			}
			p, label := row[0], strings.TrimSpace(row[1])
			if label == "" {
				yield(embedding.Input{}, fmt.Errorf("%w: %s line %d: empty label", ErrInvalidData, name, line))
				return
			}
			in, err := readFile(root, name, line, p, seen)
			if err != nil {
				yield(embedding.Input{}, err)
				return
			}
			rel := in.ID
			in.ID = c.idPrefix + rel
			in.Metadata = c.metadata(map[string]any{"label": label, "path": rel})
			n++
			if !yield(in, nil) {
				return
			}
		}
		if n == 0 {
			yield(embedding.Input{}, fmt.Errorf("%w: %s lists no image", ErrInvalidData, name))
		}
	}
}

// readFile reads the file at the '/'-separated path p under root, as
// listed on line of the file named list; seen maps the paths read so far
// to their lines (nil: a path may repeat). The input it returns has the cleaned path as ID, the
// bytes as Image and the MIME type of the extension.
func readFile(root *os.Root, list string, line int, p string, seen map[string]int) (embedding.Input, error) {
	if p == "" {
		return embedding.Input{}, fmt.Errorf("%w: %s line %d: empty path", ErrInvalidData, list, line)
	}
	clean := path.Clean(p)
	if !filepath.IsLocal(filepath.FromSlash(clean)) || strings.Contains(p, `\`) {
		return embedding.Input{}, fmt.Errorf("%w: %s line %d: path %q is not a relative '/'-separated path inside %s",
			ErrInvalidData, list, line, p, root.Name())
	}
	if seen != nil {
		if prev, dup := seen[clean]; dup {
			return embedding.Input{}, fmt.Errorf("%w: %s line %d: %q already listed on line %d", ErrInvalidData, list, line, p, prev)
		}
		seen[clean] = line
	}
	data, err := root.ReadFile(filepath.FromSlash(clean))
	if err != nil {
		// os.Root names the file and refuses a symbolic link out of root.
		return embedding.Input{}, fmt.Errorf("dataset: %s line %d: %w", list, line, err)
	}
	return embedding.Input{ID: clean, Image: data, MIMEType: mimeType(clean)}, nil
}

// csvError names the file of a CSV parse error and wraps [ErrInvalidData].
func csvError(name string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("%w: %s line %d: %v", ErrInvalidData, name, pe.Line, pe.Err)
	}
	return fmt.Errorf("dataset: %s: %w", name, err)
}
