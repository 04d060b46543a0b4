package dataset_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// writeFile writes data to dir/name, making the folders on the way.
func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(name))
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
	require.NoError(t, os.WriteFile(p, data, 0o644))
	return p
}

// pngOf returns a small PNG whose pixels depend on seed.
func pngOf(t testing.TB, seed int) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 4, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(seed*31 + i*7)
	}
	img.SetGray(0, 0, color.Gray{Y: uint8(seed)})
	var buf bytes.Buffer
	require.NoError(t, png.Encode(&buf, img))
	return buf.Bytes()
}

// idxImages returns an IDX images file of n images of rows × cols whose
// pixel j of image i is i+j (mod 256), followed by extra bytes.
func idxImages(t testing.TB, magic uint32, n, rows, cols int, extra int) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, binary.Write(&b, binary.BigEndian, [4]uint32{magic, uint32(n), uint32(rows), uint32(cols)}))
	for i := range n {
		for j := range rows * cols {
			b.WriteByte(byte(i + j))
		}
	}
	b.Write(make([]byte, extra))
	return b.Bytes()
}

// idxLabels returns an IDX labels file holding labels, announcing count.
func idxLabels(t testing.TB, magic uint32, count int, labels ...byte) []byte {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, binary.Write(&b, binary.BigEndian, [2]uint32{magic, uint32(count)}))
	b.Write(labels)
	return b.Bytes()
}

func gzipped(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}
