package dataset_test

import (
	"bytes"
	"image"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding/dataset"
)

func TestLoadIDX(t *testing.T) {
	t.Parallel()
	imgs := idxImages(t, 0x803, 3, 2, 3, 0)
	labels := idxLabels(t, 0x801, 3, 2, 0, 1)
	for _, zip := range []bool{false, true} {
		dir := t.TempDir()
		ib, lb := imgs, labels
		if zip {
			ib, lb = gzipped(t, imgs), gzipped(t, labels)
		}
		ip := writeFile(t, dir, "images-idx3-ubyte", ib)
		lp := writeFile(t, dir, "labels-idx1-ubyte", lb)

		got, err := dataset.LoadIDX(ip, lp)
		require.NoError(t, err)
		require.Len(t, got, 3)
		assert.Equal(t, "00001", got[1].ID)
		assert.Equal(t, map[string]any{"label": "0"}, got[1].Metadata)
		gray, ok := got[1].Decoded.(*image.Gray)
		require.True(t, ok, "Decoded is an *image.Gray: %T", got[1].Decoded)
		assert.Equal(t, image.Rect(0, 0, 3, 2), gray.Rect)
		assert.Equal(t, []byte{1, 2, 3, 4, 5, 6}, gray.Pix, "image 1, pixel j is 1+j")
		assert.Nil(t, got[1].Image, "raw pixels: no encoded bytes")

		// Images do not share writable memory past their own pixels.
		gray.Pix = append(gray.Pix, 99)
		assert.Equal(t, []byte{2, 3, 4, 5, 6, 7}, got[2].Decoded.(*image.Gray).Pix)

		got, err = dataset.LoadIDX(ip, lp, dataset.WithClasses("zero", "one", "two"),
			dataset.WithIDPrefix("test-"), dataset.WithMetadata("split", "test"))
		require.NoError(t, err)
		assert.Equal(t, "test-00000", got[0].ID)
		assert.Equal(t, map[string]any{"label": "two", "split": "test"}, got[0].Metadata)

		got, err = dataset.LoadIDX(ip, "")
		require.NoError(t, err)
		assert.Equal(t, map[string]any{}, got[0].Metadata, "no labels file: no label")
	}

	// ReadIDX: the same over readers; IDs widen past 99,999 items.
	many := 100_001
	got, err := dataset.ReadIDX(bytes.NewReader(idxImages(t, 0x803, many, 1, 1, 0)), nil)
	require.NoError(t, err)
	assert.Equal(t, "000000", got[0].ID)
	assert.Equal(t, "100000", got[many-1].ID)
}

func TestLoadIDXErrors(t *testing.T) {
	t.Parallel()
	good := idxImages(t, 0x803, 3, 2, 2, 0)
	goodLabels := idxLabels(t, 0x801, 3, 0, 1, 2)
	tests := []struct {
		name           string
		images, labels []byte
		opts           []dataset.Option
		file           string // named in the message
		msg            string
	}{
		{"images magic", idxImages(t, 0x801, 3, 2, 2, 0), goodLabels, nil, "images", "magic number 0x00000801, want 0x00000803 (IDX images: unsigned bytes, 3 dimensions)"},
		{"float images", idxImages(t, 0x0d03, 3, 2, 2, 0), goodLabels, nil, "images", "magic number 0x00000d03"},
		{"labels magic", good, idxLabels(t, 0x803, 3, 0, 1, 2), nil, "labels", "magic number 0x00000803, want 0x00000801 (IDX labels"},
		{"count mismatch", good, idxLabels(t, 0x801, 4, 0, 1, 2, 3), nil, "labels", "4 labels for the 3 images of "},
		{"truncated images", good[:len(good)-1], goodLabels, nil, "images", "truncated after 2 of the 3 items"},
		{"truncated labels", good, goodLabels[:len(goodLabels)-1], nil, "labels", "truncated after 2 of the 3 items"},
		{"trailing images", idxImages(t, 0x803, 3, 2, 2, 1), goodLabels, nil, "images", "data after the 3 images its header announces"},
		{"trailing labels", good, append(bytes.Clone(goodLabels), 0), nil, "labels", "data after the 3 labels"},
		{"short header", good[:7], goodLabels, nil, "images", "shorter than an IDX header"},
		{"empty labels file", good, []byte{}, nil, "labels", "shorter than an IDX header"},
		{"zero rows", idxImages(t, 0x803, 3, 0, 2, 0), goodLabels, nil, "images", "3 images of 0×2 pixels"},
		{"huge image", idxImages(t, 0x803, 0, 1<<13, 1<<13, 0), idxLabels(t, 0x801, 0), nil, "images", "0 images of 8192×8192 pixels"},
		// A header that claims a billion images allocates little before
		// the data runs out.
		{"lying count", idxImages(t, 0x803, 0, 28, 28, 0)[:4], nil, nil, "images", "shorter than an IDX header"},
		{"unnamed label", good, goodLabels, []dataset.Option{dataset.WithClasses("a", "b")}, "labels", "label 2 of item 2 has no name (WithClasses has 2)"},
		{"bad gzip", []byte{0x1f, 0x8b, 0, 0}, goodLabels, nil, "images", "gzip"},
		{"truncated gzip", gzipped(t, good)[:20], goodLabels, nil, "images", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ip := writeFile(t, dir, "images", tt.images)
			lp := ""
			if tt.labels != nil {
				lp = writeFile(t, dir, "labels", tt.labels)
			}
			got, err := dataset.LoadIDX(ip, lp, tt.opts...)
			require.Error(t, err)
			assert.Nil(t, got)
			assert.ErrorIs(t, err, dataset.ErrInvalidData)
			assert.ErrorContains(t, err, "dataset: invalid data: "+filepath.Join(dir, tt.file)+": "+tt.msg)
			assert.Equal(t, 1, strings.Count(err.Error(), "dataset:"), "the package is named once: %v", err)
		})
	}

	t.Run("lying count", func(t *testing.T) {
		t.Parallel()
		b := idxImages(t, 0x803, 2, 28, 28, 0)
		b[4], b[5] = 0x0f, 0xff // about 268 million images
		_, err := dataset.ReadIDX(bytes.NewReader(b), nil)
		assert.ErrorIs(t, err, dataset.ErrInvalidData)
		assert.ErrorContains(t, err, "images: truncated after 2 of the 268369922 items")
	})

	_, err := dataset.LoadIDX(filepath.Join(t.TempDir(), "none"), "")
	assert.ErrorIs(t, err, fs.ErrNotExist)
	assert.ErrorContains(t, err, "none")
	_, err = dataset.ReadIDX(nil, nil)
	assert.ErrorIs(t, err, dataset.ErrInvalidOption)
}

func TestOptions(t *testing.T) {
	t.Parallel()
	r := func() *bytes.Reader { return bytes.NewReader(idxImages(t, 0x803, 1, 1, 1, 0)) }
	tests := []struct {
		opt dataset.Option
		msg string
	}{
		{dataset.WithMetadata("", "x"), `dataset: invalid option: WithMetadata("", "x"): empty key`},
		{dataset.WithMetadata("$id", "x"), `WithMetadata("$id", "x"): key "$id" starts with '$'`},
		{dataset.WithMetadata("n", 3), `WithMetadata("n", 3): value of type int (want string, bool, int64, float64 or []string)`},
		{dataset.WithClasses(), "dataset: invalid option: WithClasses with 0 names: want 1 to 256"},
		{dataset.WithClasses("a", ""), "WithClasses: name 1 is empty"},
	}
	for _, tt := range tests {
		_, err := dataset.ReadIDX(r(), nil, tt.opt)
		assert.ErrorIs(t, err, dataset.ErrInvalidOption)
		assert.ErrorContains(t, err, tt.msg)
	}
	// WithMetadata copies a []string, and each item gets its own copy.
	tags := []string{"a"}
	got, err := dataset.ReadIDX(bytes.NewReader(idxImages(t, 0x803, 2, 1, 1, 0)), nil, dataset.WithMetadata("tags", tags))
	require.NoError(t, err)
	tags[0] = "changed"
	got[0].Metadata["tags"].([]string)[0] = "mine"
	assert.Equal(t, []string{"a"}, got[1].Metadata["tags"])
}

func FuzzReadIDX(f *testing.F) {
	f.Add(idxImages(f, 0x803, 2, 2, 2, 0), idxLabels(f, 0x801, 2, 1, 2))
	f.Add(gzipped(f, idxImages(f, 0x803, 1, 3, 1, 0)), idxLabels(f, 0x801, 1, 9))
	f.Fuzz(func(t *testing.T, images, labels []byte) {
		got, err := dataset.ReadIDX(bytes.NewReader(images), bytes.NewReader(labels))
		if err != nil {
			assert.Nil(t, got)
			assert.True(t, strings.HasPrefix(err.Error(), "dataset: "), err.Error())
			return
		}
		for _, in := range got {
			assert.NotNil(t, in.Decoded)
			assert.Contains(t, in.Metadata, "label")
		}
	})
}
