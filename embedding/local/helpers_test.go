package local_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
)

// shape draws a white shape on a black n × n canvas: "disc", "square",
// "cross" or "ring", centred and scaled to the canvas.
func shape(kind string, n int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, n, n))
	c := float64(n) / 2
	for y := range n {
		for x := range n {
			// Coordinates in [-1, 1] relative to the centre.
			u, v := (float64(x)+0.5-c)/c, (float64(y)+0.5-c)/c
			r := math.Hypot(u, v)
			on := false
			switch kind {
			case "disc":
				on = r < 0.5
			case "ring":
				on = r > 0.5 && r < 0.8
			case "square":
				on = math.Abs(u) < 0.7 && math.Abs(v) < 0.7
			case "cross":
				on = (math.Abs(u) < 0.15 && math.Abs(v) < 0.8) || (math.Abs(v) < 0.15 && math.Abs(u) < 0.8)
			default:
				panic("unknown shape " + kind)
			}
			if on {
				img.SetGray(x, y, color.Gray{Y: 230})
			}
		}
	}
	return img
}

// textured returns a 28 × 28 gray picture that looks like a dataset image:
// a shape with a deterministic texture, so that PNG compression is not
// trivial.
func textured(i int) *image.Gray {
	kinds := []string{"disc", "ring", "square", "cross"}
	img := shape(kinds[i%len(kinds)], 28)
	s := uint32(i)*2654435761 + 1
	for k := range img.Pix {
		s ^= s << 13
		s ^= s >> 17
		s ^= s << 5
		if img.Pix[k] != 0 {
			img.Pix[k] = byte(150 + s%100)
		}
	}
	return img
}

func encodePNG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	require.NoError(tb, png.Encode(&buf, img))
	return buf.Bytes()
}

func encodeJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	require.NoError(tb, jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}))
	return buf.Bytes()
}

// encodeGIF writes a gray image as a GIF with a 256-level gray palette.
func encodeGIF(tb testing.TB, img *image.Gray) []byte {
	tb.Helper()
	pal := make(color.Palette, 256)
	for i := range pal {
		pal[i] = color.Gray{Y: uint8(i)}
	}
	p := image.NewPaletted(img.Rect, pal)
	copy(p.Pix, img.Pix) // same stride: one byte per pixel
	var buf bytes.Buffer
	require.NoError(tb, gif.Encode(&buf, p, nil))
	return buf.Bytes()
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// cancelAfter is a context whose Err reports Canceled from its n+1-th call
// on, to cancel an Encode between two items deterministically.
type cancelAfter struct {
	context.Context
	n     int64
	calls atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.calls.Add(1) > c.n {
		return context.Canceled
	}
	return nil
}

// encodeImage encodes img as the Input.Decoded of one input with ID
// "decoded".
func encodeImage(e *local.ImageEncoder, img image.Image) ([]float32, error) {
	vecs, err := e.Encode(context.Background(), []embedding.Input{{ID: "decoded", Decoded: img}})
	if err != nil {
		return nil, err
	}
	return vecs[0], nil
}
