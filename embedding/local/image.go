package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	_ "image/gif"  // register the GIF decoder
	_ "image/jpeg" // register the JPEG decoder
	_ "image/png"  // register the PNG decoder
	"math"
	"math/rand/v2"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"

	xdraw "golang.org/x/image/draw"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// ColorMode selects the pixel features of an [ImageEncoder].
type ColorMode int

const (
	// Gray uses one luminance value per pixel (ITU-R 601 weights, as
	// image/color's GrayModel). It is the default.
	Gray ColorMode = iota
	// RGB uses the red, green and blue values of each pixel, interleaved.
	RGB
)

// String returns "gray" or "rgb", the spelling used in Info().Model.
func (m ColorMode) String() string {
	switch m {
	case Gray:
		return "gray"
	case RGB:
		return "rgb"
	}
	return fmt.Sprintf("ColorMode(%d)", int(m))
}

func (m ColorMode) channels() int {
	if m == RGB {
		return 3
	}
	return 1
}

// Projection selects the random matrix of an [ImageEncoder] with
// [WithImageDim].
type Projection int

const (
	// Gaussian draws every matrix entry from a standard normal distribution.
	// It is the default.
	Gaussian Projection = iota
	// Sparse draws entries +1, 0, -1 with probabilities 1/6, 2/3, 1/6
	// (Achlioptas' database-friendly projection): as good in expectation,
	// cheaper to generate.
	Sparse
)

// String returns "gaussian" or "sparse", the spelling used in Info().Model.
func (p Projection) String() string {
	switch p {
	case Gaussian:
		return "gaussian"
	case Sparse:
		return "sparse"
	}
	return fmt.Sprintf("Projection(%d)", int(p))
}

// Defaults and limits of [NewImageEncoder].
const (
	// DefaultImageSide is the side, in pixels, images are resized to.
	DefaultImageSide = 28
	// MaxImageSide is the largest side WithSide accepts.
	MaxImageSide = 512
	// DefaultSeed seeds the random projections of both encoders.
	DefaultSeed = 1
	// DefaultMaxPixels is the largest image, in pixels, Encode decodes; it
	// guards against decompression bombs.
	DefaultMaxPixels = 1 << 25
	// MaxDim is the largest output dimension either encoder accepts.
	MaxDim = 1 << 14
	// MaxProjectionSize bounds dim × side² × channels, the entries of an
	// image projection matrix (4 bytes each, so 128 MiB).
	MaxProjectionSize = 1 << 25
)

// ImageOption configures [NewImageEncoder]. Each option checks its own
// value: an unusable one makes NewImageEncoder return an error wrapping
// [embedding.ErrInvalidOption] that names the option and the value.
type ImageOption func(*imageConfig) error

type imageConfig struct {
	side      int
	color     ColorMode
	dim       int
	proj      Projection
	seed      uint64
	maxPixels int
	files     bool
}

// invalidOption returns an error wrapping [embedding.ErrInvalidOption] that
// names the option call (for example "WithSide(0)") and the reason.
func invalidOption(call, format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{embedding.ErrInvalidOption, call}, args...)...)
}

// WithSide sets the side of the square images are resized to (default
// [DefaultImageSide], 28; from 1 to [MaxImageSide]). Images are stretched to
// the square: the aspect ratio is not kept.
func WithSide(n int) ImageOption {
	return func(c *imageConfig) error {
		if n < 1 || n > MaxImageSide {
			return invalidOption(fmt.Sprintf("WithSide(%d)", n), "want 1 to %d", MaxImageSide)
		}
		c.side = n
		return nil
	}
}

// WithColorMode selects grayscale ([Gray], the default) or [RGB] features.
func WithColorMode(m ColorMode) ImageOption {
	return func(c *imageConfig) error {
		if m != Gray && m != RGB {
			return invalidOption(fmt.Sprintf("WithColorMode(%v)", m), "want Gray or RGB")
		}
		c.color = m
		return nil
	}
}

// WithImageDim sets the output dimension. The default, 0, means no
// projection: the vector is the normalised pixel features themselves, of
// dimension side·side·channels (784 with the defaults). A positive n
// projects the features with a seeded random matrix (see [WithProjection]
// and [WithImageSeed]) to n dimensions (at most [MaxDim]), which preserves
// cosine similarities approximately (Johnson–Lindenstrauss) and makes
// vectors smaller to store and faster to search. The matrix has
// n·side·side·channels entries, at most [MaxProjectionSize].
func WithImageDim(n int) ImageOption {
	return func(c *imageConfig) error {
		if n < 0 || n > MaxDim {
			return invalidOption(fmt.Sprintf("WithImageDim(%d)", n), "want 0 to %d", MaxDim)
		}
		c.dim = n
		return nil
	}
}

// WithProjection selects the random matrix used with [WithImageDim]
// (default [Gaussian]).
func WithProjection(p Projection) ImageOption {
	return func(c *imageConfig) error {
		if p != Gaussian && p != Sparse {
			return invalidOption(fmt.Sprintf("WithProjection(%v)", p), "want Gaussian or Sparse")
		}
		c.proj = p
		return nil
	}
}

// WithImageSeed seeds the projection matrix (default [DefaultSeed]). The
// matrix is generated from math/rand/v2's PCG source with a fixed transform,
// so a seed gives the same matrix on every machine and Go version (up to
// float rounding). Without a projection the seed has no effect and is not
// part of Info().Model. Every seed is valid.
func WithImageSeed(seed uint64) ImageOption {
	return func(c *imageConfig) error { c.seed = seed; return nil }
}

// WithMaxPixels sets the largest image, in pixels (width × height), that
// Encode decodes from bytes or a file (default [DefaultMaxPixels]; at least
// 1); larger images are rejected before their pixels are decoded. It does
// not apply to Input.Decoded images, which are already in memory.
func WithMaxPixels(n int) ImageOption {
	return func(c *imageConfig) error {
		if n < 1 {
			return invalidOption(fmt.Sprintf("WithMaxPixels(%d)", n), "want at least 1")
		}
		c.maxPixels = n
		return nil
	}
}

// WithFileAccess lets Encode read an input with no Image bytes from the local
// file named by its URI: "file:///path/to/img.png" or a plain path. It is off
// by default, so that a service passing untrusted inputs through cannot be
// made to read local files; without it, such an input is rejected.
func WithFileAccess() ImageOption {
	return func(c *imageConfig) error { c.files = true; return nil }
}

// ImageEncoder is the embedded image encoder: decode, grayscale or RGB,
// resize, pixel intensities in [0, 1], optional seeded random projection,
// L2 normalisation. Build it with [NewImageEncoder]. It is safe for
// concurrent use.
//
// Resizing uses golang.org/x/image/draw's CatmullRom kernel. Unlike
// ApproxBiLinear, which blends only the 4 nearest source pixels, the kernel
// widens with the scale factor when shrinking, so every source pixel counts
// (an anti-aliased, area-like reduction): a photo reduced to 28×28 keeps
// its coarse shapes instead of a noisy sample of a few pixels, and the same
// picture at two resolutions gives nearly the same vector. It is slower, but
// an image already at the target size skips resizing altogether.
//
// Transparent pixels count as black (premultiplied alpha). An all-black image
// has no direction; it is encoded as the direction of a uniform image (the
// limit of ever darker uniform images), so every vector has unit norm.
type ImageEncoder struct {
	cfg     imageConfig
	info    embedding.Info
	raw     int       // pixel features: side·side·channels
	proj    []float32 // info.Dim × raw, column-major (column j: proj[j*Dim:]); nil without projection
	scratch sync.Pool // *imageScratch
}

type imageScratch struct {
	rgba *image.RGBA // side × side
	feat []float32   // raw pixel features, with a projection
}

// NewImageEncoder returns an image encoder configured by opts. It returns an
// error wrapping [embedding.ErrInvalidOption] that names the first option
// with an unusable value. Nil options are skipped.
func NewImageEncoder(opts ...ImageOption) (*ImageEncoder, error) {
	c := imageConfig{side: DefaultImageSide, color: Gray, proj: Gaussian, seed: DefaultSeed, maxPixels: DefaultMaxPixels}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	raw := c.side * c.side * c.color.channels()
	if c.dim > 0 && c.dim*raw > MaxProjectionSize {
		return nil, invalidOption(fmt.Sprintf("WithImageDim(%d)", c.dim),
			"a projection of %d×%d entries (side %d, %v) exceeds %d", c.dim, raw, c.side, c.color, MaxProjectionSize)
	}
	e := &ImageEncoder{cfg: c, raw: raw}
	model := fmt.Sprintf("shoal-local-image/v1 side=%d %v", c.side, c.color)
	if c.dim > 0 {
		e.proj = projectionMatrix(c.proj, c.seed, c.dim, raw)
		model += fmt.Sprintf(" dim=%d proj=%v seed=%d", c.dim, c.proj, c.seed)
	} else {
		model += fmt.Sprintf(" dim=%d", raw)
	}
	e.info = embedding.Info{Model: model, Dim: raw, Normalized: true}
	if c.dim > 0 {
		e.info.Dim = c.dim
	}
	e.scratch.New = func() any {
		s := &imageScratch{rgba: image.NewRGBA(image.Rect(0, 0, c.side, c.side))}
		if e.proj != nil {
			s.feat = make([]float32, raw)
		}
		return s
	}
	return e, nil
}

// imageStream separates the image projection's PCG stream from others.
const imageStream = 0x5348_4f41_4c49_4d47 // "SHOALIMG"

// projectionMatrix returns a dim × raw random matrix, stored column after
// column (the entries of one pixel feature together). It uses only
// the PCG source's raw output (whose algorithm is specified), with its own
// Box–Muller transform, so the matrix does not depend on how a Go release
// implements NormFloat64.
func projectionMatrix(p Projection, seed uint64, dim, raw int) []float32 {
	src := rand.NewPCG(seed, imageStream)
	m := make([]float32, dim*raw)
	switch p {
	case Sparse:
		for i := range m {
			switch (src.Uint64() >> 32) * 6 >> 32 { // uniform in [0, 6)
			case 0:
				m[i] = 1
			case 1:
				m[i] = -1
			}
		}
	default:
		const inv53 = 1.0 / (1 << 53)
		for i := 0; i < len(m); i += 2 {
			u1 := float64(src.Uint64()>>11+1) * inv53 // (0, 1]
			u2 := float64(src.Uint64()>>11) * inv53   // [0, 1)
			r := math.Sqrt(-2 * math.Log(u1))
			s, c := math.Sincos(2 * math.Pi * u2)
			m[i] = float32(r * c)
			if i+1 < len(m) {
				m[i+1] = float32(r * s)
			}
		}
	}
	return m
}

// Info describes the encoder: Model spells out the configuration, Dim is the
// output dimension, Normalized is true and there is no batch limit.
func (e *ImageEncoder) Info() embedding.Info { return e.info }

// Encode embeds each input's image: Decoded (an image already in memory,
// used as it is, with no encoding round trip), Image bytes (PNG, JPEG or
// GIF, detected from the content), or, with [WithFileAccess], the file
// named by URI. Decoded pixels and the encoded bytes of the same image give
// the same vector. It checks ctx between inputs. An input it cannot use
// (none of these, both Image and Decoded, an undecodable or empty image)
// ends the call with an error wrapping [embedding.ErrInvalidInput] that
// names the input's ID.
func (e *ImageEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	dim := e.info.Dim
	out := make([][]float32, len(in))
	buf := make([]float32, len(in)*dim)
	for i, x := range in {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		img, err := e.decode(x)
		if err != nil {
			return nil, fmt.Errorf("%w: input %q: %w", embedding.ErrInvalidInput, x.ID, err)
		}
		v := buf[i*dim : (i+1)*dim : (i+1)*dim]
		if err := e.encodeInto(v, img); err != nil {
			return nil, fmt.Errorf("%w: input %q: %w", embedding.ErrInvalidInput, x.ID, err)
		}
		out[i] = v
	}
	return out, nil
}

// decode returns the image of in.
func (e *ImageEncoder) decode(in embedding.Input) (image.Image, error) {
	if in.Decoded != nil {
		if len(in.Image) > 0 {
			return nil, errors.New("both Image bytes and a Decoded image (set one)")
		}
		if v := reflect.ValueOf(in.Decoded); v.Kind() == reflect.Pointer && v.IsNil() {
			return nil, fmt.Errorf("a nil %T as Decoded", in.Decoded)
		}
		return in.Decoded, nil
	}
	data := in.Image
	if len(data) == 0 {
		if in.URI == "" {
			return nil, errors.New("no Decoded image, no Image bytes and no URI")
		}
		if !e.cfg.files {
			return nil, fmt.Errorf("URI %q: reading files is off (see WithFileAccess)", in.URI)
		}
		path, err := localPath(in.URI)
		if err != nil {
			return nil, err
		}
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
		if len(data) == 0 {
			return nil, fmt.Errorf("file %q is empty", path)
		}
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("empty image (%d×%d)", cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(e.cfg.maxPixels) {
		return nil, fmt.Errorf("image of %d×%d pixels exceeds the limit of %d", cfg.Width, cfg.Height, e.cfg.maxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	return img, nil
}

// localPath returns the file path of a file:// URI or a plain path.
func localPath(uri string) (string, error) {
	if strings.HasPrefix(uri, "file://") {
		u, err := url.Parse(uri)
		if err != nil {
			return "", fmt.Errorf("URI %q: %w", uri, err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("URI %q: file on another host", uri)
		}
		if u.Path == "" {
			return "", fmt.Errorf("URI %q: no path", uri)
		}
		return u.Path, nil
	}
	if i := strings.Index(uri, "://"); i >= 0 {
		return "", fmt.Errorf("URI %q: unsupported scheme %q (only file:// and plain paths)", uri, uri[:i])
	}
	return uri, nil
}

// encodeInto writes the normalised vector of img into dst (len Info().Dim).
func (e *ImageEncoder) encodeInto(dst []float32, img image.Image) error {
	if img == nil {
		return errors.New("nil image")
	}
	if b := img.Bounds(); b.Empty() {
		return fmt.Errorf("empty image (%d×%d)", b.Dx(), b.Dy())
	}
	s := e.scratch.Get().(*imageScratch)
	defer e.scratch.Put(s)
	feat := dst
	if e.proj != nil {
		feat = s.feat
	}
	e.pixels(feat, img, s.rgba)
	if !slices.ContainsFunc(feat, func(f float32) bool { return f != 0 }) {
		// All black: use the direction of a uniform image.
		for i := range feat {
			feat[i] = 1
		}
	}
	if e.proj != nil {
		// Column by column, skipping black pixels (often half of them).
		clear(dst)
		dim := len(dst)
		for j, f := range feat {
			if f != 0 {
				vecmath.AddScaled(dst, f, e.proj[j*dim:(j+1)*dim])
			}
		}
	}
	if vecmath.Normalize(dst) == 0 {
		return errors.New("image projects to the zero vector")
	}
	return nil
}

// gray8 maps an 8-bit intensity to [0, 1].
var gray8 = func() (t [256]float32) {
	for i := range t {
		t[i] = float32(i) / 255
	}
	return t
}()

// pixels writes the raw features of img, resized to side × side, into feat.
// rgba is scratch space of side × side.
func (e *ImageEncoder) pixels(feat []float32, img image.Image, rgba *image.RGBA) {
	side := e.cfg.side
	b := img.Bounds()
	if b.Dx() == side && b.Dy() == side {
		switch m := img.(type) {
		case *image.Gray:
			e.fromGray(feat, m)
			return
		case *image.RGBA:
			e.fromRGBA(feat, m)
			return
		}
		xdraw.Draw(rgba, rgba.Rect, img, b.Min, xdraw.Src)
	} else {
		xdraw.CatmullRom.Scale(rgba, rgba.Rect, img, b, xdraw.Src, nil)
	}
	e.fromRGBA(feat, rgba)
}

// fromGray writes the features of a side × side gray image.
func (e *ImageEncoder) fromGray(feat []float32, m *image.Gray) {
	side, b := e.cfg.side, m.Rect
	k := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		off := m.PixOffset(b.Min.X, y)
		row := m.Pix[off : off+side]
		if e.cfg.color == Gray {
			for _, p := range row {
				feat[k] = gray8[p]
				k++
			}
			continue
		}
		for _, p := range row {
			f := gray8[p]
			feat[k], feat[k+1], feat[k+2] = f, f, f
			k += 3
		}
	}
}

// fromRGBA writes the features of a side × side RGBA image.
func (e *ImageEncoder) fromRGBA(feat []float32, m *image.RGBA) {
	side, b := e.cfg.side, m.Rect
	k := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		off := m.PixOffset(b.Min.X, y)
		row := m.Pix[off : off+4*side]
		if e.cfg.color == RGB {
			for i := 0; i < len(row); i += 4 {
				feat[k], feat[k+1], feat[k+2] = gray8[row[i]], gray8[row[i+1]], gray8[row[i+2]]
				k += 3
			}
			continue
		}
		for i := 0; i < len(row); i += 4 {
			// color.GrayModel on 16-bit values (v·257), so that an RGBA
			// image and its *image.Gray conversion give the same features.
			r, g, bl := uint32(row[i]), uint32(row[i+1]), uint32(row[i+2])
			feat[k] = gray8[((19595*r+38470*g+7471*bl)*257+1<<15)>>24]
			k++
		}
	}
}
