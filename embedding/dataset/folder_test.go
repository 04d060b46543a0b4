package dataset_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/dataset"
)

func TestLoadFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b := pngOf(t, 1), pngOf(t, 2)
	writeFile(t, dir, "cats/a.png", a)
	writeFile(t, dir, "b.JPG", b)
	writeFile(t, dir, "labels.csv", []byte("path,label\ncats/a.png,cat\n\n./b.JPG, dog \n"))

	got, err := dataset.LoadFolder(dir)
	require.NoError(t, err)
	assert.Equal(t, []embedding.Input{
		{ID: "cats/a.png", Image: a, MIMEType: "image/png", Metadata: map[string]any{"label": "cat", "path": "cats/a.png"}},
		{ID: "b.JPG", Image: b, MIMEType: "image/jpeg", Metadata: map[string]any{"label": "dog", "path": "b.JPG"}},
	}, got)

	got, err = dataset.LoadFolder(dir, dataset.WithIDPrefix("pets/"), dataset.WithMetadata("split", "train"),
		dataset.WithMetadata("label", "overridden by the row"))
	require.NoError(t, err)
	assert.Equal(t, "pets/cats/a.png", got[0].ID)
	assert.Equal(t, map[string]any{"label": "cat", "path": "cats/a.png", "split": "train"}, got[0].Metadata)

	// Without a header row, the first row is an image.
	writeFile(t, dir, "labels.csv", []byte("b.JPG,dog\n"))
	got, err = dataset.LoadFolder(dir)
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "b.JPG", got[0].ID)
}

func TestLoadFolderErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		labels string // "" writes no labels.csv
		want   error
		msg    string // after the labels.csv path
	}{
		{"no labels.csv", "", fs.ErrNotExist, ""},
		{"missing image", "path,label\na.png,cat\nnope.png,dog\n", fs.ErrNotExist, "labels.csv line 3: "},
		{"duplicate", "a.png,cat\n./a.png,dog\n", dataset.ErrInvalidData, `labels.csv line 2: "./a.png" already listed on line 1`},
		{"empty label", "a.png,cat\na.png,\n", dataset.ErrInvalidData, "labels.csv line 2: empty label"},
		{"empty path", "path,label\n,cat\n", dataset.ErrInvalidData, "labels.csv line 2: empty path"},
		{"three fields", "a.png,cat\na.png,cat,extra\n", dataset.ErrInvalidData, "labels.csv line 2: wrong number of fields"},
		{"bad quote", "a.png,cat\n\"a.png,cat\n", dataset.ErrInvalidData, "labels.csv line 2: "},
		{"escaping path", "../a.png,cat\n", dataset.ErrInvalidData, `labels.csv line 1: path "../a.png" is not a relative '/'-separated path inside`},
		{"absolute path", "/etc/passwd,cat\n", dataset.ErrInvalidData, `path "/etc/passwd" is not a relative`},
		{"backslash", `sub\..\..\a.png,cat` + "\n", dataset.ErrInvalidData, "is not a relative '/'-separated path"},
		{"symlink out", "link.png,cat\n", nil, "labels.csv line 1: "},
		{"header only", "path,label\n", dataset.ErrInvalidData, "labels.csv lists no image"},
		{"empty", "\n", dataset.ErrInvalidData, "labels.csv lists no image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			parent := t.TempDir()
			outside := writeFile(t, parent, "a.png", pngOf(t, 0))
			dir := filepath.Join(parent, "set")
			writeFile(t, dir, "a.png", pngOf(t, 1))
			require.NoError(t, os.Symlink(outside, filepath.Join(dir, "link.png")))
			if tt.labels != "" {
				writeFile(t, dir, "labels.csv", []byte(tt.labels))
			}
			got, err := dataset.LoadFolder(dir)
			require.Error(t, err)
			assert.Nil(t, got)
			if tt.want != nil {
				assert.ErrorIs(t, err, tt.want)
			}
			assert.ErrorContains(t, err, filepath.Join(dir, "labels.csv"))
			assert.ErrorContains(t, err, tt.msg)
			assert.Regexp(t, `^dataset: `, err.Error())
			assert.NotRegexp(t, `dataset: .*dataset: `, err.Error(), "the package is named once")
		})
	}

	_, err := dataset.LoadFolder(t.TempDir(), dataset.WithClasses("a"))
	assert.ErrorIs(t, err, dataset.ErrInvalidOption)
	assert.ErrorContains(t, err, "WithClasses does not apply to LoadFolder")
}

func TestScanFolderStreams(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, dir, "a.png", pngOf(t, 1))
	writeFile(t, dir, "b.png", pngOf(t, 2))
	writeFile(t, dir, "labels.csv", []byte("a.png,x\nb.png,y\nmissing.png,z\n"))
	var ids []string
	for in, err := range dataset.ScanFolder(dir) {
		require.NoError(t, err)
		ids = append(ids, in.ID)
		if len(ids) == 2 {
			break // before the bad row: no error, nothing more read
		}
	}
	assert.Equal(t, []string{"a.png", "b.png"}, ids)

	var n int
	var last error
	for _, err := range dataset.ScanFolder(dir) {
		n++
		last = err
	}
	assert.Equal(t, 3, n, "two items, then the error")
	assert.ErrorIs(t, last, fs.ErrNotExist)
}
