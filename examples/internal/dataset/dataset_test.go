package dataset

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/shoalhq/shoal/embedding/local"
	"github.com/shoalhq/shoal/index"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFashionSample(t *testing.T) {
	items, err := FashionSample()
	require.NoError(t, err)
	require.Len(t, items, 10000)
	counts := map[string]int{}
	for _, it := range items {
		counts[it.Label]++
	}
	assert.Len(t, counts, 10)
	for _, c := range FashionClasses {
		assert.Equal(t, 1000, counts[c], c)
	}
	img, err := png.Decode(bytes.NewReader(items[0].Image))
	require.NoError(t, err)
	assert.Equal(t, image.Rect(0, 0, 28, 28), img.Bounds())
	assert.Equal(t, "test-00000", items[0].ID)
	assert.Equal(t, "Ankle boot", items[0].Label) // the split's first label is 9

	inputs, err := FashionSampleInputs()
	require.NoError(t, err)
	require.Len(t, inputs, 10000)
	assert.Equal(t, "test-00000", inputs[0].ID)
	assert.Equal(t, map[string]any{"label": "Ankle boot", "split": "test"}, inputs[0].Metadata)
	assert.Equal(t, image.Rect(0, 0, 28, 28), inputs[0].Decoded.Bounds())
	assert.Equal(t, img, inputs[0].Decoded, "the PNG holds the same pixels")
}

func idx(t *testing.T, n int, labels []byte, magicImg uint32) (img, lab []byte) {
	var ib, lb bytes.Buffer
	require.NoError(t, binary.Write(&ib, binary.BigEndian, [4]uint32{magicImg, uint32(n), 2, 2}))
	ib.Write(make([]byte, 4*n))
	require.NoError(t, binary.Write(&lb, binary.BigEndian, [2]uint32{0x801, uint32(len(labels))}))
	lb.Write(labels)
	return ib.Bytes(), lb.Bytes()
}

// The file formats and their errors are tested with the public loaders
// (embedding/dataset); these tests check what this package adds.

func TestLoadFolder(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, image.NewGray(image.Rect(0, 0, 3, 3))))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a", "x.png"), buf.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "y.png"), buf.Bytes(), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte("path,label\na/x.png,cat\ny.png, dog\n"), 0o644))
	items, err := Load(dir)
	require.NoError(t, err)
	require.Len(t, items, 2)
	assert.Equal(t, Item{ID: "a/x.png", Label: "cat", Image: buf.Bytes(), MIMEType: "image/png"}, items[0])
	assert.Equal(t, "dog", items[1].Label)
	assert.Equal(t, map[string]any{"label": "dog"}, items[1].Input().Metadata)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "labels.csv"), []byte("y.png,cat\ny.png,dog\n"), 0o644))
	_, err = LoadFolder(dir)
	assert.ErrorContains(t, err, "labels.csv line 2")
}

func TestLoadFashionDir(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	img, lab := idx(t, 3, []byte{0, 1, 2}, 0x803)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), img, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), lab, 0o644))
	items, err := Load(dir)
	require.NoError(t, err)
	assert.Len(t, items, 3)
	assert.Equal(t, Item{ID: "test-00002", Label: "Pullover", Split: "test", Image: items[2].Image, MIMEType: "image/png"}, items[2])
	inputs, err := LoadFashionInputs(dir, "test")
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"label": "Pullover", "split": "test"}, inputs[2].Metadata)
	assert.NotNil(t, inputs[2].Decoded, "raw pixels, no PNG")
	assert.Nil(t, inputs[2].Image)
	_, err = LoadFashion(dir, "train")
	assert.ErrorContains(t, err, "dataset-fashion-mnist")
	_, err = LoadFashion(dir, "val")
	assert.Error(t, err)

	// A label outside Fashion-MNIST's ten classes.
	img, lab = idx(t, 1, []byte{12}, 0x803)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte"), img, 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "t10k-labels-idx1-ubyte"), lab, 0o644))
	_, err = LoadFashion(dir, "test")
	assert.ErrorContains(t, err, "label 12 of item 0 has no name")
}

func TestWriteShapesAndRecords(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	require.NoError(t, WriteShapes(dir, 3))
	items, err := Load(dir)
	require.NoError(t, err)
	require.Len(t, items, 6)
	enc, err := local.NewImageEncoder()
	require.NoError(t, err)
	var got []index.Record
	for r, err := range Records(context.Background(), enc, items) {
		require.NoError(t, err)
		got = append(got, r)
	}
	require.Len(t, got, 6)
	for i, r := range got {
		assert.Equal(t, items[i].ID, r.ID, "input order")
		assert.Equal(t, index.Metadata{"label": items[i].Label}, r.Metadata)
		assert.Len(t, r.Vector, enc.Info().Dim)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, err := range Records(ctx, enc, items) {
		assert.ErrorIs(t, err, context.Canceled)
		break
	}
}
