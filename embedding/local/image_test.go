package local_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/embedding/local"
)

var _ embedding.Encoder = (*local.ImageEncoder)(nil)

func newImageEncoder(t testing.TB, opts ...local.ImageOption) *local.ImageEncoder {
	t.Helper()
	e, err := local.NewImageEncoder(opts...)
	require.NoError(t, err)
	return e
}

func TestImageEncoderInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  []local.ImageOption
		dim   int
		model string
	}{
		{"defaults", nil, 784, "shoal-local-image/v1 side=28 gray dim=784"},
		{"rgb", []local.ImageOption{local.WithColorMode(local.RGB)}, 28 * 28 * 3, "shoal-local-image/v1 side=28 rgb dim=2352"},
		{"side", []local.ImageOption{local.WithSide(16)}, 256, "shoal-local-image/v1 side=16 gray dim=256"},
		{"seed without projection is moot", []local.ImageOption{local.WithImageSeed(9)}, 784, "shoal-local-image/v1 side=28 gray dim=784"},
		{"projection", []local.ImageOption{local.WithImageDim(256)}, 256, "shoal-local-image/v1 side=28 gray dim=256 proj=gaussian seed=1"},
		{"sparse projection", []local.ImageOption{local.WithImageDim(64), local.WithProjection(local.Sparse), local.WithImageSeed(7)},
			64, "shoal-local-image/v1 side=28 gray dim=64 proj=sparse seed=7"},
		{"rgb projection", []local.ImageOption{local.WithSide(8), local.WithColorMode(local.RGB), local.WithImageDim(32)},
			32, "shoal-local-image/v1 side=8 rgb dim=32 proj=gaussian seed=1"},
		{"file access and max pixels do not change vectors", []local.ImageOption{local.WithFileAccess(), local.WithMaxPixels(10)},
			784, "shoal-local-image/v1 side=28 gray dim=784"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newImageEncoder(t, tt.opts...)
			info := e.Info()
			assert.Equal(t, tt.dim, info.Dim)
			assert.Equal(t, tt.model, info.Model)
			assert.True(t, info.Normalized)
			assert.Zero(t, info.MaxBatch)

			v, err := encodeImage(e, shape("disc", 40))
			require.NoError(t, err)
			assert.Len(t, v, tt.dim)
			assert.InDelta(t, 1, norm(v), 1e-5)
		})
	}
}

func TestNewImageEncoderRejectsBadOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts []local.ImageOption
		msg  string // the whole message: package once, the option, the reason
	}{
		{"side 0", []local.ImageOption{local.WithSide(0)}, "embedding: invalid option: WithSide(0): want 1 to 512"},
		{"side too large", []local.ImageOption{local.WithSide(local.MaxImageSide + 1)}, "WithSide(513): want 1 to 512"},
		{"color mode", []local.ImageOption{local.WithColorMode(local.ColorMode(5))}, "WithColorMode(ColorMode(5)): want Gray or RGB"},
		{"negative dim", []local.ImageOption{local.WithImageDim(-1)}, "WithImageDim(-1): want 0 to 16384"},
		{"dim too large", []local.ImageOption{local.WithImageDim(local.MaxDim + 1)}, "WithImageDim(16385)"},
		{"projection kind", []local.ImageOption{local.WithImageDim(8), local.WithProjection(local.Projection(3))}, "WithProjection(Projection(3)): want Gaussian or Sparse"},
		{"projection matrix too large", []local.ImageOption{local.WithSide(512), local.WithColorMode(local.RGB), local.WithImageDim(256)},
			"embedding: invalid option: WithImageDim(256): a projection of 256×786432 entries (side 512, rgb) exceeds 33554432"},
		{"max pixels", []local.ImageOption{local.WithMaxPixels(0)}, "embedding: invalid option: WithMaxPixels(0): want at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := local.NewImageEncoder(tt.opts...)
			assert.ErrorIs(t, err, embedding.ErrInvalidOption)
			assert.ErrorContains(t, err, tt.msg)
			assert.Equal(t, 1, strings.Count(err.Error(), "embedding:"), "package named once: %v", err)
			assert.Nil(t, e)
		})
	}
}

func TestImageEncoderDeterminism(t *testing.T) {
	t.Parallel()
	pic := encodePNG(t, textured(3))
	in := []embedding.Input{{ID: "a", Image: pic}}
	tests := []struct {
		name string
		opts []local.ImageOption
	}{
		{"raw", nil},
		{"gaussian", []local.ImageOption{local.WithImageDim(128)}},
		{"sparse", []local.ImageOption{local.WithImageDim(128), local.WithProjection(local.Sparse)}},
		{"rgb gaussian", []local.ImageOption{local.WithImageDim(96), local.WithColorMode(local.RGB)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v1, err := newImageEncoder(t, tt.opts...).Encode(context.Background(), in)
			require.NoError(t, err)
			v2, err := newImageEncoder(t, tt.opts...).Encode(context.Background(), in)
			require.NoError(t, err)
			assert.Equal(t, v1, v2, "two encoders with the same options")
		})
	}

	t.Run("seed changes the projection", func(t *testing.T) {
		t.Parallel()
		for _, p := range []local.Projection{local.Gaussian, local.Sparse} {
			a := newImageEncoder(t, local.WithImageDim(128), local.WithProjection(p), local.WithImageSeed(1))
			b := newImageEncoder(t, local.WithImageDim(128), local.WithProjection(p), local.WithImageSeed(2))
			va, err := a.Encode(context.Background(), in)
			require.NoError(t, err)
			vb, err := b.Encode(context.Background(), in)
			require.NoError(t, err)
			assert.NotEqual(t, va, vb, p)
			assert.NotEqual(t, a.Info().Model, b.Info().Model, p)
		}
	})
}

// TestImageEncoderGolden pins a few elements of two vectors, so that a change
// of the vector format (which must come with a new model version) cannot go
// unnoticed. The tolerance allows for fused multiply-adds on other CPUs.
func TestImageEncoderGolden(t *testing.T) {
	t.Parallel()
	img := textured(5) // a ring
	tests := []struct {
		name string
		opts []local.ImageOption
		at   int // first element pinned
		want []float32
	}{
		{"raw", nil, 14*28 + 21, []float32{0.07415883, 0.07961641, 0.07030643, 0.06260162}},
		{"gaussian", []local.ImageOption{local.WithImageDim(16)}, 8, []float32{0.113647535, 0.08596006, 0.37019935, -0.06427492}},
		{"sparse", []local.ImageOption{local.WithImageDim(16), local.WithProjection(local.Sparse), local.WithImageSeed(3)}, 8,
			[]float32{-0.31822878, 0.2495783, -0.31089202, -0.28639284}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v, err := encodeImage(newImageEncoder(t, tt.opts...), img)
			require.NoError(t, err)
			got := v[tt.at : tt.at+4]
			assert.InDeltaSlice(t, tt.want, got, 1e-5, "got %#v", got)
		})
	}
}

// TestImageEncoderFormats decodes the same picture from PNG, JPEG and GIF.
func TestImageEncoderFormats(t *testing.T) {
	t.Parallel()
	e := newImageEncoder(t)
	for i := range 4 {
		pic := textured(i)
		in := []embedding.Input{
			{ID: "png", Image: encodePNG(t, pic)},
			{ID: "jpeg", Image: encodeJPEG(t, pic)},
			{ID: "gif", Image: encodeGIF(t, pic)},
		}
		vs, err := e.Encode(context.Background(), in)
		require.NoError(t, err)
		direct, err := encodeImage(e, pic)
		require.NoError(t, err)
		assert.Equal(t, direct, vs[0], "PNG is lossless: same vector as the decoded image")
		assert.Equal(t, direct, vs[2], "GIF with a gray palette is lossless too")
		assert.Greater(t, cosine(vs[0], vs[1]), 0.99, "PNG vs JPEG")
	}
}

// TestImageEncoderDecoded checks that an image passed as Input.Decoded and
// the PNG bytes of the same image give the same vector, with every
// configuration and pixel type.
func TestImageEncoderDecoded(t *testing.T) {
	t.Parallel()
	rgba := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range rgba.Pix {
		rgba.Pix[i] = uint8(i * 7)
	}
	for i := 3; i < len(rgba.Pix); i += 4 {
		rgba.Pix[i] = 255 // opaque: PNG keeps the exact values
	}
	tests := []struct {
		name string
		opts []local.ImageOption
		img  image.Image
	}{
		{"gray 28", nil, textured(2)},
		{"gray resized", nil, shape("ring", 57)},
		{"rgba resized", nil, rgba},
		{"rgb", []local.ImageOption{local.WithColorMode(local.RGB)}, rgba},
		{"projected", []local.ImageOption{local.WithImageDim(64)}, textured(3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newImageEncoder(t, tt.opts...)
			in := []embedding.Input{
				{ID: "bytes", Image: encodePNG(t, tt.img), MIMEType: "image/png"},
				{ID: "decoded", Decoded: tt.img},
			}
			vs, err := e.Encode(context.Background(), in)
			require.NoError(t, err)
			assert.Equal(t, vs[0], vs[1])
		})
	}
}

// TestImageEncoderShapes checks that a shape drawn at another resolution is
// closer to the same shape than to other shapes.
func TestImageEncoderShapes(t *testing.T) {
	t.Parallel()
	kinds := []string{"disc", "ring", "square", "cross"}
	tests := []struct {
		name string
		opts []local.ImageOption
	}{
		{"gray", nil},
		{"rgb", []local.ImageOption{local.WithColorMode(local.RGB)}},
		{"projected", []local.ImageOption{local.WithImageDim(128)}},
		{"side 16", []local.ImageOption{local.WithSide(16)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newImageEncoder(t, tt.opts...)
			ref := make(map[string][]float32)
			for _, k := range kinds {
				v, err := encodeImage(e, shape(k, 28))
				require.NoError(t, err)
				ref[k] = v
			}
			for _, size := range []int{20, 57, 150} {
				for _, k := range kinds {
					in := []embedding.Input{{ID: k, Image: encodePNG(t, shape(k, size))}}
					vs, err := e.Encode(context.Background(), in)
					require.NoError(t, err)
					same := cosine(vs[0], ref[k])
					for _, other := range kinds {
						if other != k {
							assert.Greater(t, same, cosine(vs[0], ref[other]), "%s at %d×%d vs %s", k, size, size, other)
						}
					}
				}
			}
		})
	}
}

func TestImageEncoderPixelTypes(t *testing.T) {
	t.Parallel()
	e := newImageEncoder(t)
	gray := textured(1)
	want, err := encodeImage(e, gray)
	require.NoError(t, err)

	rgba := image.NewRGBA(gray.Rect)
	nrgba := image.NewNRGBA(gray.Rect)
	for y := range 28 {
		for x := range 28 {
			rgba.Set(x, y, gray.At(x, y))
			nrgba.Set(x, y, gray.At(x, y))
		}
	}
	// A sub-image whose bounds do not start at the origin.
	big := image.NewGray(image.Rect(0, 0, 40, 40))
	for y := range 28 {
		copy(big.Pix[big.PixOffset(5, y+7):], gray.Pix[gray.PixOffset(0, y):gray.PixOffset(28, y)])
	}
	sub := big.SubImage(image.Rect(5, 7, 33, 35))

	for name, img := range map[string]image.Image{"rgba": rgba, "nrgba": nrgba, "sub-image": sub} {
		got, err := encodeImage(e, img)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
}

func TestImageEncoderColor(t *testing.T) {
	t.Parallel()
	fill := func(c color.RGBA) *image.RGBA {
		img := image.NewRGBA(image.Rect(0, 0, 10, 10))
		for i := 0; i < len(img.Pix); i += 4 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
		}
		return img
	}
	rgb := newImageEncoder(t, local.WithColorMode(local.RGB), local.WithSide(4))
	gray := newImageEncoder(t, local.WithSide(4))
	red, err := encodeImage(rgb, fill(color.RGBA{R: 255, A: 255}))
	require.NoError(t, err)
	blue, err := encodeImage(rgb, fill(color.RGBA{B: 255, A: 255}))
	require.NoError(t, err)
	assert.InDelta(t, 0, cosine(red, blue), 1e-6, "red and blue are orthogonal in RGB")

	g1, err := encodeImage(gray, fill(color.RGBA{R: 255, A: 255}))
	require.NoError(t, err)
	g2, err := encodeImage(gray, fill(color.RGBA{B: 255, A: 255}))
	require.NoError(t, err)
	assert.InDelta(t, 1, cosine(g1, g2), 1e-6, "uniform images have the same gray direction")

	// All black (and fully transparent) images still get a unit vector: the
	// uniform direction.
	for _, c := range []color.RGBA{{A: 255}, {}} {
		v, err := encodeImage(gray, fill(c))
		require.NoError(t, err)
		assert.InDelta(t, 1, norm(v), 1e-6)
		assert.InDelta(t, 1, cosine(v, g1), 1e-6)
	}
	proj := newImageEncoder(t, local.WithImageDim(8))
	v, err := encodeImage(proj, image.NewGray(image.Rect(0, 0, 28, 28)))
	require.NoError(t, err)
	assert.InDelta(t, 1, norm(v), 1e-6)
}

func TestImageEncoderBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.png")
	require.NoError(t, os.WriteFile(empty, nil, 0o600))
	garbage := filepath.Join(dir, "garbage.png")
	require.NoError(t, os.WriteFile(garbage, []byte("not an image"), 0o600))

	png := encodePNG(t, textured(0))
	truncated := png[:len(png)/2]
	tests := []struct {
		name string
		opts []local.ImageOption
		in   embedding.Input
		msg  string
	}{
		{"nothing", nil, embedding.Input{ID: "x1"}, "no Decoded image, no Image bytes and no URI"},
		{"text only", nil, embedding.Input{ID: "x2", Text: "a cat"}, "no Image bytes"},
		{"garbage", nil, embedding.Input{ID: "x3", Image: []byte("definitely not an image")}, "decode image"},
		{"lying header", nil, embedding.Input{ID: "x3b", Image: []byte("GIF89a but not really")}, "exceeds the limit"},
		{"truncated", nil, embedding.Input{ID: "x4", Image: truncated}, "decode image"},
		{"Image and Decoded", nil, embedding.Input{ID: "x4b", Image: png, Decoded: textured(0)}, "both Image bytes and a Decoded image"},
		{"too large", []local.ImageOption{local.WithMaxPixels(28 * 28)}, embedding.Input{ID: "x5", Image: encodePNG(t, shape("disc", 29))}, "exceeds the limit"},
		{"files off", nil, embedding.Input{ID: "x6", URI: "/tmp/a.png"}, "WithFileAccess"},
		{"remote URI", []local.ImageOption{local.WithFileAccess()}, embedding.Input{ID: "x7", URI: "gs://bucket/a.png"}, `unsupported scheme "gs"`},
		{"remote host", []local.ImageOption{local.WithFileAccess()}, embedding.Input{ID: "x8", URI: "file://example.com/a.png"}, "another host"},
		{"missing file", []local.ImageOption{local.WithFileAccess()}, embedding.Input{ID: "x9", URI: filepath.Join(dir, "nope.png")}, "no such file"},
		{"empty file", []local.ImageOption{local.WithFileAccess()}, embedding.Input{ID: "x10", URI: empty}, "is empty"},
		{"undecodable file", []local.ImageOption{local.WithFileAccess()}, embedding.Input{ID: "x11", URI: "file://" + garbage}, "decode image"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newImageEncoder(t, tt.opts...)
			good := embedding.Input{ID: "good", Image: png}
			out, err := e.Encode(context.Background(), []embedding.Input{good, tt.in})
			require.Error(t, err)
			assert.ErrorIs(t, err, embedding.ErrInvalidInput)
			assert.Contains(t, err.Error(), fmt.Sprintf("input %q", tt.in.ID))
			assert.Contains(t, err.Error(), tt.msg)
			assert.Nil(t, out)
			assert.False(t, embedding.IsRetryable(err))
		})
	}

	t.Run("Decoded", func(t *testing.T) {
		t.Parallel()
		e := newImageEncoder(t)
		for name, img := range map[string]image.Image{
			"nil *image.Gray": (*image.Gray)(nil),
			"empty gray":      image.NewGray(image.Rect(0, 0, 0, 5)),
			"empty rgba":      image.NewRGBA(image.Rectangle{}),
		} {
			v, err := encodeImage(e, img)
			assert.ErrorIs(t, err, embedding.ErrInvalidInput, name)
			assert.ErrorContains(t, err, `input "decoded"`, name)
			assert.Nil(t, v, name)
		}
	})
}

func TestImageEncoderFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "pic one.png")
	pic := encodePNG(t, textured(2))
	require.NoError(t, os.WriteFile(path, pic, 0o600))

	e := newImageEncoder(t, local.WithFileAccess())
	in := []embedding.Input{
		{ID: "bytes", Image: pic},
		{ID: "path", URI: path},
		{ID: "uri", URI: "file://" + filepath.ToSlash(filepath.Join(dir, "pic%20one.png"))},
		{ID: "localhost", URI: "file://localhost" + filepath.ToSlash(path)},
	}
	vs, err := e.Encode(context.Background(), in)
	require.NoError(t, err)
	for i := 1; i < len(vs); i++ {
		assert.Equal(t, vs[0], vs[i], in[i].ID)
	}
}

func TestImageEncoderCancel(t *testing.T) {
	t.Parallel()
	e := newImageEncoder(t)
	pic := encodePNG(t, textured(0))
	in := make([]embedding.Input, 5)
	for i := range in {
		in[i] = embedding.Input{ID: fmt.Sprint(i), Image: pic}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	out, err := e.Encode(ctx, in)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, out)

	// Cancelled between the second and the third item: it stops there.
	c := &cancelAfter{Context: context.Background(), n: 2}
	out, err = e.Encode(c, in)
	assert.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, out)
	assert.Equal(t, int64(3), c.calls.Load())
}

func TestImageEncoderConcurrent(t *testing.T) {
	t.Parallel()
	for _, opts := range [][]local.ImageOption{nil, {local.WithImageDim(64)}} {
		e := newImageEncoder(t, opts...)
		in := make([]embedding.Input, 8)
		for i := range in {
			// Mixed sizes exercise both the direct path and the resize path.
			img := image.Image(textured(i))
			if i%2 == 1 {
				img = shape("ring", 50+i)
			}
			in[i] = embedding.Input{ID: fmt.Sprint(i), Image: encodePNG(t, img)}
		}
		want, err := e.Encode(context.Background(), in)
		require.NoError(t, err)
		var wg sync.WaitGroup
		got := make([][][]float32, 8)
		errs := make([]error, 8)
		for g := range got {
			wg.Go(func() { got[g], errs[g] = e.Encode(context.Background(), in) })
		}
		wg.Wait()
		for g := range got {
			require.NoError(t, errs[g])
			assert.Equal(t, want, got[g])
		}
	}
}

func FuzzImageEncoder(f *testing.F) {
	f.Add(encodePNG(f, textured(0)))
	f.Add(encodeJPEG(f, shape("disc", 9)))
	f.Add(encodeGIF(f, shape("cross", 31)))
	f.Add([]byte("GIF89a"))
	e, err := local.NewImageEncoder(local.WithMaxPixels(1 << 16))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := e.Encode(context.Background(), []embedding.Input{{ID: "fuzz", Image: data}})
		if err != nil {
			require.ErrorIs(t, err, embedding.ErrInvalidInput)
			return
		}
		require.Len(t, out, 1)
		require.Len(t, out[0], e.Info().Dim)
		require.InDelta(t, 1, norm(out[0]), 1e-5)
	})
}
