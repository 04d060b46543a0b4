package dataset_test

import (
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/dataset"
)

func TestLoadManifestCSV(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := pngOf(t, 1)
	writeFile(t, dir, "img/a.png", a)
	name := filepath.Join(dir, "items.csv")
	writeFile(t, dir, "items.csv", []byte("\ufeffid, path ,text,label,split\n"+
		"x1,img/a.png,,cat,train\n"+
		"t1,,\"a dog,\nsitting\",dog,test\n"+
		"t2,,plain,,\n"+
		"x2,./img/a.png,,dog,\n")) // items may share a file
	got, err := dataset.LoadManifest(name, dataset.WithIDPrefix("m-"), dataset.WithMetadata("source", "manifest"))
	require.NoError(t, err)
	assert.Equal(t, []embedding.Input{
		{ID: "m-x1", Image: a, MIMEType: "image/png", Metadata: map[string]any{"label": "cat", "split": "train", "path": "img/a.png", "source": "manifest"}},
		{ID: "m-t1", Text: "a dog,\nsitting", Metadata: map[string]any{"label": "dog", "split": "test", "source": "manifest"}},
		{ID: "m-t2", Text: "plain", Metadata: map[string]any{"source": "manifest"}},
		{ID: "m-x2", Image: a, MIMEType: "image/png", Metadata: map[string]any{"label": "dog", "path": "img/a.png", "source": "manifest"}},
	}, got)

	// Without an id column, the ID is the path.
	writeFile(t, dir, "paths.csv", []byte("path,label\nimg/a.png,cat\n"))
	got, err = dataset.LoadManifest(filepath.Join(dir, "paths.csv"))
	require.NoError(t, err)
	assert.Equal(t, "img/a.png", got[0].ID)
}

func TestLoadManifestJSONL(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := pngOf(t, 3)
	writeFile(t, dir, "a.gif", a)
	lines := `{"id": "1", "path": "a.gif", "label": "cat", "n": 3, "score": 0.5, "ok": true, "tags": ["x", "y"], "gone": null}

{"id": "2", "text": "hello", "label": 7}
`
	name := writeFile(t, dir, "items.jsonl", []byte(lines))
	got, err := dataset.LoadManifest(name)
	require.NoError(t, err)
	assert.Equal(t, []embedding.Input{
		{ID: "1", Image: a, MIMEType: "image/gif", Metadata: map[string]any{
			"label": "cat", "n": int64(3), "score": 0.5, "ok": true, "tags": []string{"x", "y"}, "path": "a.gif"}},
		{ID: "2", Text: "hello", Metadata: map[string]any{"label": int64(7)}},
	}, got)

	// Another extension: JSON Lines when the file starts with '{'.
	other := writeFile(t, dir, "items.txt", []byte(lines))
	got2, err := dataset.LoadManifest(other)
	require.NoError(t, err)
	assert.Equal(t, got, got2)
}

func TestLoadManifestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, file, content string
		want                error
		msg                 string
	}{
		{"missing file", "none.csv", "", fs.ErrNotExist, "none.csv"},
		{"no path or text column", "m.csv", "id,label\n1,cat\n", dataset.ErrInvalidData, `m.csv line 1: the header has neither "path" nor "text"`},
		{"empty column name", "m.csv", "id,,text\n1,x,y\n", dataset.ErrInvalidData, "m.csv line 1: column 2: empty key"},
		{"$ column", "m.csv", "text,$x\nhi,1\n", dataset.ErrInvalidData, `m.csv line 1: column 2: key "$x" starts with '$'`},
		{"duplicate column", "m.csv", "text,label,label\nhi,a,b\n", dataset.ErrInvalidData, `column "label" appears twice`},
		{"field count", "m.csv", "id,text\n1,hi\n2,hi,extra\n", dataset.ErrInvalidData, "m.csv line 3: wrong number of fields"},
		{"neither path nor text", "m.csv", "id,path,text\n1,,\n", dataset.ErrInvalidData, `m.csv line 2: neither "path" nor "text"`},
		{"no id", "m.csv", "text\nhi\n", dataset.ErrInvalidData, `m.csv line 2: no "id" (required when there is no "path")`},
		{"duplicate id", "m.csv", "id,text\n1,a\n2,b\n1,c\n", dataset.ErrInvalidData, `m.csv line 4: ID "1" already used on line 2`},
		{"escaping path", "m.csv", "path\n../x.png\n", dataset.ErrInvalidData, `m.csv line 2: path "../x.png" is not a relative`},
		{"missing image", "m.csv", "path\nnope.png\n", fs.ErrNotExist, "m.csv line 2: "},
		{"header only", "m.csv", "id,text\n", dataset.ErrInvalidData, "m.csv lists no item"},
		{"empty", "m.csv", "", dataset.ErrInvalidData, "m.csv lists no item"},
		{"invalid JSON", "m.jsonl", "{\"text\": \"a\", \"id\": \"1\"}\n\n{\"text\": \n", dataset.ErrInvalidData, "m.jsonl line 3: invalid JSON"},
		{"not an object", "m.jsonl", "[1, 2]\n", dataset.ErrInvalidData, "m.jsonl line 1: invalid JSON"},
		{"two values", "m.jsonl", `{"text": "a", "id": "1"} {"text": "b"}` + "\n", dataset.ErrInvalidData, "m.jsonl line 1: more than one JSON value"},
		{"non-string id", "m.jsonl", `{"id": 3, "text": "a"}` + "\n", dataset.ErrInvalidData, `m.jsonl line 1: "id" is a number, want a string`},
		{"object value", "m.jsonl", `{"id": "3", "text": "a", "box": {"x": 1}}` + "\n", dataset.ErrInvalidData, `m.jsonl line 1: "box": a object`},
		{"mixed array", "m.jsonl", `{"id": "3", "text": "a", "tags": ["a", 1]}` + "\n", dataset.ErrInvalidData, `"tags": element 1 is a number`},
		{"huge number", "m.jsonl", `{"id": "3", "text": "a", "n": 1e999}` + "\n", dataset.ErrInvalidData, `"n": number 1e999 out of range`},
		{"JSON duplicate id", "m.jsonl", `{"id": "3", "text": "a"}` + "\n" + `{"id": "3", "text": "b"}` + "\n", dataset.ErrInvalidData, `m.jsonl line 2: ID "3" already used on line 1`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			name := filepath.Join(dir, tt.file)
			if tt.name != "missing file" {
				writeFile(t, dir, tt.file, []byte(tt.content))
			}
			got, err := dataset.LoadManifest(name)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, tt.want)
			assert.ErrorContains(t, err, name)
			assert.ErrorContains(t, err, tt.msg)
			assert.Equal(t, 1, strings.Count(err.Error(), "dataset:"), "the package is named once: %v", err)
		})
	}
}
