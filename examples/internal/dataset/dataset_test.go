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
}

func idx(t *testing.T, n int, labels []byte, magicImg uint32) (img, lab []byte) {
	var ib, lb bytes.Buffer
	require.NoError(t, binary.Write(&ib, binary.BigEndian, [4]uint32{magicImg, uint32(n), 2, 2}))
	ib.Write(make([]byte, 4*n))
	require.NoError(t, binary.Write(&lb, binary.BigEndian, [2]uint32{0x801, uint32(len(labels))}))
	lb.Write(labels)
	return ib.Bytes(), lb.Bytes()
}

func TestReadIDXErrors(t *testing.T) {
	t.Parallel()
	img, lab := idx(t, 2, []byte{1, 2}, 0x803)
	items, err := readIDX(bytes.NewReader(img), bytes.NewReader(lab), "train")
	require.NoError(t, err)
	assert.Equal(t, "Trouser", items[0].Label)
	assert.Equal(t, "train-00001", items[1].ID)

	_, err = readIDX(bytes.NewReader(img[:len(img)-1]), bytes.NewReader(lab), "train")
	assert.ErrorContains(t, err, "image 1")
	bad, _ := idx(t, 2, []byte{1, 2}, 0x999)
	_, err = readIDX(bytes.NewReader(bad), bytes.NewReader(lab), "train")
	assert.ErrorContains(t, err, "not IDX")
	_, lab3 := idx(t, 2, []byte{1, 2, 3}, 0x803)
	_, err = readIDX(bytes.NewReader(img), bytes.NewReader(lab3), "train")
	assert.ErrorContains(t, err, "inconsistent")
	_, labBad := idx(t, 2, []byte{1, 12}, 0x803)
	_, err = readIDX(bytes.NewReader(img), bytes.NewReader(labBad), "train")
	assert.ErrorContains(t, err, "out of range")
	_, err = readIDX(bytes.NewReader(nil), bytes.NewReader(lab), "train")
	assert.Error(t, err)
}

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

	for name, csv := range map[string]string{
		"missing file": "nope.png,cat\n",
		"duplicate":    "y.png,cat\ny.png,dog\n",
		"empty label":  "y.png,\n",
		"empty":        "path,label\n",
		"three fields": "y.png,cat,extra\n",
	} {
		d := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(d, "y.png"), buf.Bytes(), 0o644))
		require.NoError(t, os.WriteFile(filepath.Join(d, "labels.csv"), []byte(csv), 0o644))
		_, err := LoadFolder(d)
		assert.Error(t, err, name)
	}
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
	_, err = LoadFashion(dir, "train")
	assert.ErrorContains(t, err, "dataset-fashion-mnist")
	_, err = LoadFashion(dir, "val")
	assert.Error(t, err)
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
