package embedding

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"strings"
)

// Input is one item to embed. An encoder reads the fields it understands:
// image encoders read Image (raw encoded bytes) or URI, text encoders read
// Text. ID names the item in errors, progress and results; it is not sent to
// the model.
type Input struct {
	// ID identifies the item (for example its record ID in a store).
	ID string
	// Text is the text to embed, for text and multimodal encoders.
	Text string
	// Image holds encoded image bytes (PNG, JPEG, GIF, ...).
	Image []byte
	// Decoded is an image already in memory (for example pixels read from
	// an IDX file or a camera buffer). Image encoders that run in-process
	// read it instead of decoding Image, so raw pixels need no PNG round
	// trip; remote encoders encode it as PNG. Set Image or Decoded, not both.
	Decoded image.Image
	// URI points at the item when its bytes are not inline (for example
	// gs://bucket/path.png for Vertex AI).
	URI string
	// MIMEType describes Image or the object behind URI, when known.
	MIMEType string
	// Metadata travels with the input to its [Embedded] result and on to
	// the store's record (index.FromEmbedded): labels, paths, splits. It
	// is not sent to the model. Values follow index.Metadata's rules
	// (string, bool, float64, int64, []string).
	Metadata map[string]any
}

// Size returns an estimate of the bytes the input takes on the wire. Batching
// uses it to keep a request under an encoder's byte budget.
func (in Input) Size() int {
	return len(in.ID) + len(in.Text) + len(in.Image) + len(in.URI) + len(in.MIMEType)
}

// Info describes an encoder: which model produced the vectors and what they
// look like. Every vector an encoder returns has Dim elements.
type Info struct {
	// Model names the model and its version. A store namespace holds the
	// vectors of one model; vectors of different models are not comparable.
	Model string
	// Dim is the length of every vector the encoder returns.
	Dim int
	// Normalized reports whether vectors have unit L2 norm.
	Normalized bool
	// MaxBatch is the largest number of inputs one Encode call accepts;
	// 0 means no limit. EncodeAll never sends more.
	MaxBatch int
	// MaxBatchBytes is the largest request payload, as summed by
	// [Input.Size]; 0 means no limit. EncodeAll keeps batches under it
	// (a single larger input is still sent alone).
	MaxBatchBytes int
}

// Encoder turns inputs into vectors.
//
// Encode returns exactly one vector per input, in input order, each of
// length Info().Dim. Implementations must be safe for concurrent use: EncodeAll
// calls Encode from several goroutines. Encode must not retry on its own; to
// have EncodeAll retry a transient failure, return an error for which
// [IsRetryable] reports true (for example one with a Retryable() bool method),
// optionally with a RetryAfter() time.Duration method carrying a server's hint.
type Encoder interface {
	Encode(ctx context.Context, in []Input) ([][]float32, error)
	Info() Info
}

// Embedded is one result of [EncodeAll]: the input and its vector.
type Embedded struct {
	// Input is the input the vector belongs to.
	Input Input
	// Vector is the embedding; its length is the encoder's Info().Dim.
	Vector []float32
}

// Errors returned by this package. They are wrapped with the input they
// concern; test with errors.Is.
var (
	// ErrInvalidInput reports an input the encoder cannot use (empty, an
	// undecodable image, an unsupported MIME type, ...).
	ErrInvalidInput = errors.New("embedding: invalid input")
	// ErrBadOutput reports an encoder that broke its contract: the wrong
	// number of vectors, the wrong dimension, or NaN/Inf values.
	ErrBadOutput = errors.New("embedding: encoder returned bad output")
	// ErrInvalidOption reports an option with an unusable value.
	ErrInvalidOption = errors.New("embedding: invalid option")
)

// Namespace returns a store namespace for this model's vectors that is
// safe in URLs, logs, file names and cloud consoles: the model name
// lower-cased, with every run of characters outside [a-z0-9] turned into
// one '-', cut to 40 bytes, then '-' and the first 8 hex digits of the
// SHA-256 of the full model name, so that two models whose slugs agree
// still get two namespaces. For example "local/pixels gray 28x28 seed=1"
// gives "local-pixels-gray-28x28-seed-1-" followed by its hash. Use it as
// the default namespace: one namespace holds one model's vectors. The full
// name stays in Info.Model (Search and feedback check it against the
// encoder they are given).
func (i Info) Namespace() string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(i.Model) {
		if b.Len() >= 40 {
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	slug := strings.TrimSuffix(b.String(), "-")
	sum := sha256.Sum256([]byte(i.Model))
	if slug == "" {
		slug = "model"
	}
	return slug + "-" + hex.EncodeToString(sum[:4])
}
