package local

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"unicode"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// Defaults and limits of [NewTextEncoder].
const (
	// DefaultTextDim is the output dimension of the text encoder.
	DefaultTextDim = 256
	// MinTextDim is the smallest dimension WithTextDim accepts: below it,
	// the ±1 projection of a short text could cancel out.
	MinTextDim = 16
	// DefaultCharNGramMin is the shortest character n-gram, in characters.
	DefaultCharNGramMin = 3
	// DefaultCharNGramMax is the longest character n-gram, in characters.
	DefaultCharNGramMax = 5
	// MaxCharNGram is the longest character n-gram WithCharNGrams accepts.
	MaxCharNGram = 8
)

// Weights of the feature groups, each first normalised to unit norm, so that
// a long text's many character n-grams do not drown its words. They differ,
// so that the groups of a one-word text cannot cancel out in the ±1
// projection. Part of the vector format (v1).
const (
	unigramWeight = 1.0
	bigramWeight  = 0.5
	charWeight    = 0.8
)

// Feature kinds, mixed into the hashes so that groups never share features.
const (
	kindWord   = 1
	kindBigram = 2
	kindChar   = 3
)

// textStream separates the text projection's random stream from others.
const textStream = 0x5348_4f41_4c54_5854 // "SHOALTXT"

// TextOption configures [NewTextEncoder]. Each option checks its own value:
// an unusable one makes NewTextEncoder return an error wrapping
// [embedding.ErrInvalidOption] that names the option and the value.
type TextOption func(*textConfig) error

type textConfig struct {
	dim        int
	seed       uint64
	minN, maxN int
	bigrams    bool
}

// WithTextDim sets the output dimension (default [DefaultTextDim], 256; from
// [MinTextDim] to [MaxDim]).
func WithTextDim(n int) TextOption {
	return func(c *textConfig) error {
		if n < MinTextDim || n > MaxDim {
			return invalidOption(fmt.Sprintf("WithTextDim(%d)", n), "want %d to %d", MinTextDim, MaxDim)
		}
		c.dim = n
		return nil
	}
}

// WithTextSeed seeds the projection (default [DefaultSeed]): encoders with
// different seeds live in unrelated vector spaces. Every seed is valid.
func WithTextSeed(seed uint64) TextOption {
	return func(c *textConfig) error { c.seed = seed; return nil }
}

// WithCharNGrams sets the lengths of the character n-grams taken inside each
// word padded with "<" and ">" (default [DefaultCharNGramMin]–
// [DefaultCharNGramMax], 3–5; 1 <= min <= max <= [MaxCharNGram]).
// WithCharNGrams(0, 0) turns them off, leaving whole words only.
func WithCharNGrams(min, max int) TextOption {
	return func(c *textConfig) error {
		if (min != 0 || max != 0) && (min < 1 || max < min || max > MaxCharNGram) {
			return invalidOption(fmt.Sprintf("WithCharNGrams(%d, %d)", min, max),
				"want 1 <= min <= max <= %d, or 0, 0 for none", MaxCharNGram)
		}
		c.minN, c.maxN = min, max
		return nil
	}
}

// WithWordBigrams turns the features of adjacent word pairs on (the default)
// or off.
func WithWordBigrams(on bool) TextOption {
	return func(c *textConfig) error { c.bigrams = on; return nil }
}

// TextEncoder is the embedded text encoder. Build it with [NewTextEncoder].
// It is safe for concurrent use.
//
// A text is lowercased and cut into tokens: runs of letters, digits and
// combining marks (any script), and single symbols such as emoji;
// punctuation and spaces separate tokens. Three groups of features are
// taken: word unigrams, word bigrams and the character n-grams of each word
// padded as "<word>" (so "<sh" marks a prefix and "al>" a suffix). Each
// feature's count tf is weighted sublinearly, 1+ln(tf); each group is scaled
// to unit norm and weighted (words 1, bigrams 0.5, characters 0.8).
//
// Features are hashed to 64 bits (signed feature hashing: one hash bit gives
// the sign of the feature's contribution, so colliding features cancel in
// expectation rather than pile up). The hashed vector is then projected to
// Dim with a random ±1 matrix that is never stored: the column of a feature
// is a splitmix64 stream seeded by the feature's hash and the encoder's seed.
// Finally the vector is L2-normalised. Cosine similarity therefore
// approximates the weighted overlap of words and word pieces between texts.
type TextEncoder struct {
	cfg     textConfig
	info    embedding.Info
	seedKey uint64
	scratch sync.Pool // *textScratch
}

type span struct{ start, end int }

type textScratch struct {
	runes  []rune
	tokens []span
	pad    []rune
	words  []uint64 // word hashes in text order
	groups [3][]uint64
	col    []uint64            // sign bits of one projection column
	ones   vecmath.SignCounter // sums the columns of features seen once
}

// NewTextEncoder returns a text encoder configured by opts. It returns an
// error wrapping [embedding.ErrInvalidOption] that names the first option
// with an unusable value. Nil options are skipped.
func NewTextEncoder(opts ...TextOption) (*TextEncoder, error) {
	c := textConfig{dim: DefaultTextDim, seed: DefaultSeed, minN: DefaultCharNGramMin, maxN: DefaultCharNGramMax, bigrams: true}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o(&c); err != nil {
			return nil, err
		}
	}
	words, chars := "1", "none"
	if c.bigrams {
		words = "1-2"
	}
	if c.minN > 0 {
		chars = fmt.Sprintf("%d-%d", c.minN, c.maxN)
	}
	e := &TextEncoder{
		cfg: c,
		info: embedding.Info{
			Model:      fmt.Sprintf("shoal-local-text/v1 dim=%d words=%s chars=%s seed=%d", c.dim, words, chars, c.seed),
			Dim:        c.dim,
			Normalized: true,
		},
		seedKey: mix64(c.seed ^ textStream),
	}
	e.scratch.New = func() any {
		s := &textScratch{col: make([]uint64, (c.dim+63)/64)}
		s.ones.Reset(c.dim)
		return s
	}
	return e, nil
}

// Info describes the encoder: Model spells out the configuration, Dim is the
// output dimension, Normalized is true and there is no batch limit.
func (e *TextEncoder) Info() embedding.Info { return e.info }

// Encode embeds each input's Text. It checks ctx between inputs. An input
// whose text is empty or has no token ends the call with an error wrapping
// [embedding.ErrInvalidInput] that names the input's ID.
func (e *TextEncoder) Encode(ctx context.Context, in []embedding.Input) ([][]float32, error) {
	dim := e.info.Dim
	out := make([][]float32, len(in))
	buf := make([]float32, len(in)*dim)
	s := e.scratch.Get().(*textScratch)
	defer e.scratch.Put(s)
	for i, x := range in {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := buf[i*dim : (i+1)*dim : (i+1)*dim]
		if err := e.encodeInto(v, x.Text, s); err != nil {
			return nil, fmt.Errorf("%w: input %q: %w", embedding.ErrInvalidInput, x.ID, err)
		}
		out[i] = v
	}
	return out, nil
}

// EncodeText embeds one text, as Encode does; an empty text is an error
// wrapping [embedding.ErrInvalidInput].
func (e *TextEncoder) EncodeText(text string) ([]float32, error) {
	v := make([]float32, e.info.Dim)
	s := e.scratch.Get().(*textScratch)
	defer e.scratch.Put(s)
	if err := e.encodeInto(v, text, s); err != nil {
		return nil, fmt.Errorf("%w: %w", embedding.ErrInvalidInput, err)
	}
	return v, nil
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.M, r)
}

// tokenize fills s.runes with the lowercased text and s.tokens with its
// tokens.
func tokenize(text string, s *textScratch) {
	s.runes, s.tokens = s.runes[:0], s.tokens[:0]
	start := -1
	for _, r := range text {
		r = unicode.ToLower(r)
		switch {
		case isWordRune(r):
			if start < 0 {
				start = len(s.runes)
			}
		default:
			if start >= 0 {
				s.tokens = append(s.tokens, span{start, len(s.runes)})
				start = -1
			}
			if unicode.IsSymbol(r) {
				s.tokens = append(s.tokens, span{len(s.runes), len(s.runes) + 1})
			}
		}
		s.runes = append(s.runes, r)
	}
	if start >= 0 {
		s.tokens = append(s.tokens, span{start, len(s.runes)})
	}
}

var errEmptyText = errors.New("empty text")

// encodeInto writes the normalised vector of text into dst (len Info().Dim).
func (e *TextEncoder) encodeInto(dst []float32, text string, s *textScratch) error {
	if strings.TrimSpace(text) == "" {
		return errEmptyText
	}
	tokenize(text, s)
	if len(s.tokens) == 0 {
		return errors.New("text has no words (only punctuation or spaces)")
	}
	s.words = s.words[:0]
	for i := range s.groups {
		s.groups[i] = s.groups[i][:0]
	}
	for _, t := range s.tokens {
		tok := s.runes[t.start:t.end]
		s.words = append(s.words, hashRunes(kindWord, tok))
		if e.cfg.minN > 0 {
			s.pad = append(append(append(s.pad[:0], '<'), tok...), '>')
			for n := e.cfg.minN; n <= e.cfg.maxN && n <= len(s.pad); n++ {
				for i := 0; i+n <= len(s.pad); i++ {
					s.groups[2] = append(s.groups[2], hashRunes(kindChar, s.pad[i:i+n]))
				}
			}
		}
	}
	s.groups[0] = append(s.groups[0], s.words...)
	if e.cfg.bigrams {
		for i := 1; i < len(s.words); i++ {
			s.groups[1] = append(s.groups[1], hashPair(kindBigram, s.words[i-1], s.words[i]))
		}
	}
	clear(dst)
	for g, weight := range [3]float64{unigramWeight, bigramWeight, charWeight} {
		e.addGroup(dst, s.groups[g], weight, s)
	}
	if vecmath.Normalize(dst) == 0 {
		return errors.New("features cancel out")
	}
	return nil
}

// tfWeight is the sublinear term-frequency weight 1+ln(tf).
func tfWeight(tf int) float64 {
	if tf == 1 {
		return 1
	}
	return 1 + math.Log(float64(tf))
}

// addGroup projects one group of hashed features, weighted by 1+ln(tf) and
// scaled to norm weight, and adds it to dst. It sorts hashes in place.
//
// The ±1 columns of the features seen once (most of them) share one weight,
// so they are summed with a bit-sliced counter and scaled once; the others
// are added one by one.
func (e *TextEncoder) addGroup(dst []float32, hashes []uint64, weight float64, s *textScratch) {
	if len(hashes) == 0 {
		return
	}
	slices.Sort(hashes)
	// Sum of squared weights, for the group's norm.
	var ss float64
	for i := 0; i < len(hashes); {
		j := i + 1
		for j < len(hashes) && hashes[j] == hashes[i] {
			j++
		}
		w := tfWeight(j - i)
		ss += w * w
		i = j
	}
	scale := weight / math.Sqrt(ss)
	col := s.col[:(len(dst)+63)/64]
	for i := 0; i < len(hashes); {
		j := i + 1
		for j < len(hashes) && hashes[j] == hashes[i] {
			j++
		}
		h := hashes[i]
		var flip uint64
		if h>>63 != 0 { // signed feature hashing
			flip = ^uint64(0)
		}
		rng := splitmix(mix64(h ^ e.seedKey))
		for k := range col {
			col[k] = rng.next() ^ flip
		}
		if tf := j - i; tf == 1 {
			if s.ones.Len() == vecmath.MaxSignCount {
				s.ones.AddTo(dst, float32(scale))
			}
			s.ones.Add(col)
		} else {
			w := float32(scale * tfWeight(tf))
			for k, bits := range col {
				vecmath.AddSignedBits(dst[64*k:min(64*k+64, len(dst))], bits, w)
			}
		}
		i = j
	}
	s.ones.AddTo(dst, float32(scale))
}
