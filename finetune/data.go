package finetune

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"image"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/internal/vecmath"
)

// vectors is a set of base embeddings with their labels, in one flat
// row-major array.
type vectors struct {
	n, d   int
	x      []float32
	labels []int32
	ids    []string // for errors
}

func (v *vectors) row(i int) []float32 { return v.x[i*v.d : (i+1)*v.d] }

// checkExamples validates a set of examples against the base encoder's
// dimension d. role names the set in errors ("train", "validation").
func checkExamples(examples []Example, d int, role string) error {
	for i, ex := range examples {
		if ex.Label == "" {
			return fmt.Errorf("%w: %s %s: empty label", ErrInvalidExamples, role, exampleName(ex, i))
		}
		if ex.Vector == nil {
			continue
		}
		if len(ex.Vector) != d {
			return fmt.Errorf("%w: %s %s: vector of dimension %d, the base encoder has %d",
				ErrInvalidExamples, role, exampleName(ex, i), len(ex.Vector), d)
		}
		if j := vecmath.Finite(ex.Vector); j >= 0 {
			return fmt.Errorf("%w: %s %s: vector element %d is %v", ErrInvalidExamples, role, exampleName(ex, i), j, ex.Vector[j])
		}
	}
	return nil
}

// labelIndex numbers labels: those of train in sorted order first, then
// those only in val, so numbering does not depend on example order.
func labelIndex(train, val []Example) map[string]int32 {
	var names []string
	seen := map[string]bool{}
	for _, ex := range train {
		if !seen[ex.Label] {
			seen[ex.Label] = true
			names = append(names, ex.Label)
		}
	}
	slices.Sort(names)
	extra := len(names)
	for _, ex := range val {
		if !seen[ex.Label] {
			seen[ex.Label] = true
			names = append(names, ex.Label)
		}
	}
	slices.Sort(names[extra:])
	index := make(map[string]int32, len(names))
	for i, n := range names {
		index[n] = int32(i)
	}
	return index
}

// inputKey identifies an input for the embedding cache: the base model and
// every field of the input.
func inputKey(model string, in embedding.Input) [32]byte {
	h := sha256.New()
	var n [8]byte
	for _, f := range [][]byte{[]byte(model), []byte(in.ID), []byte(in.Text), in.Image, []byte(in.URI), []byte(in.MIMEType)} {
		binary.LittleEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write(f)
	}
	if in.Decoded != nil {
		hashImage(h, in.Decoded)
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// hashImage writes img's bounds and pixels to h: the cache key of an input
// whose image is Decoded (in memory) rather than encoded bytes. Gray and
// RGBA images are hashed row by row from their pixel arrays; other types
// pixel by pixel, through At.
func hashImage(h hash.Hash, img image.Image) {
	b := img.Bounds()
	var hdr [5 * 8]byte
	for i, v := range []int{b.Min.X, b.Min.Y, b.Max.X, b.Max.Y} {
		binary.LittleEndian.PutUint64(hdr[8*i:], uint64(v))
	}
	hdr[32] = 'D' // not the bytes of an encoded Image
	h.Write(hdr[:])
	if b.Empty() {
		return
	}
	switch m := img.(type) {
	case *image.Gray:
		if m == nil {
			return
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			h.Write(m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)])
		}
		return
	case *image.RGBA:
		if m == nil {
			return
		}
		for y := b.Min.Y; y < b.Max.Y; y++ {
			h.Write(m.Pix[m.PixOffset(b.Min.X, y):m.PixOffset(b.Max.X, y)])
		}
		return
	}
	var px [8]byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, a := img.At(x, y).RGBA()
			binary.LittleEndian.PutUint16(px[0:], uint16(r))
			binary.LittleEndian.PutUint16(px[2:], uint16(g))
			binary.LittleEndian.PutUint16(px[4:], uint16(bl))
			binary.LittleEndian.PutUint16(px[6:], uint16(a))
			h.Write(px[:])
		}
	}
}

// baseVectors returns the base embeddings of examples (train then val, in
// one array), from Example.Vector, the trainer's caches, or the base encoder
// through EncodeAll, and the time spent encoding.
func (t *LocalTrainer) baseVectors(ctx context.Context, examples []Example, labels map[string]int32) (*vectors, time.Duration, error) {
	info := t.base.Info()
	d := info.Dim
	v := &vectors{n: len(examples), d: d, x: make([]float32, len(examples)*d), labels: make([]int32, len(examples)), ids: make([]string, len(examples))}
	var missing []int
	var keys [][32]byte
	for i, ex := range examples {
		v.labels[i], v.ids[i] = labels[ex.Label], ex.Input.ID
		if ex.Vector != nil {
			copy(v.row(i), ex.Vector)
			continue
		}
		missing = append(missing, i)
		keys = append(keys, inputKey(info.Model, ex.Input))
	}
	if len(missing) == 0 {
		return v, 0, nil
	}
	fresh := make(map[[32]byte][]float32, len(missing))
	setKey := keySetDigest(info.Model, keys)
	if t.cacheDir != "" {
		if cached, ok := readCache(t.cacheDir, info.Model, setKey, len(missing), d); ok {
			for k, i := range missing {
				copy(v.row(i), cached[k*d:(k+1)*d])
				fresh[keys[k]] = v.row(i)
			}
			t.remember(fresh)
			return v, 0, nil
		}
	}
	// Look up the memory cache; encode the rest.
	t.mu.Lock()
	var todo []int // positions in missing
	for k, i := range missing {
		if vec, ok := t.cache[keys[k]]; ok {
			copy(v.row(i), vec)
			fresh[keys[k]] = v.row(i)
		} else {
			todo = append(todo, k)
		}
	}
	t.mu.Unlock()
	var spent time.Duration
	if len(todo) > 0 {
		start := time.Now()
		if t.logger != nil {
			t.logger.Info("shoal: finetune: computing base embeddings", "model", info.Model, "count", len(todo))
		}
		inputs := func(yield func(embedding.Input, error) bool) {
			for _, k := range todo {
				if !yield(examples[missing[k]].Input, nil) {
					return
				}
			}
		}
		j := 0
		for e, err := range embedding.EncodeAll(ctx, t.base, inputs, t.encodeOpts...) {
			if err != nil {
				if ctx.Err() != nil {
					return nil, 0, ctx.Err()
				}
				return nil, 0, err // EncodeAll's error names the input
			}
			k := todo[j]
			row := v.row(missing[k])
			copy(row, e.Vector)
			fresh[keys[k]] = row
			j++
		}
		spent = time.Since(start)
	}
	t.remember(fresh)
	if t.cacheDir != "" {
		flat := make([]float32, 0, len(missing)*d)
		for _, i := range missing {
			flat = append(flat, v.row(i)...)
		}
		if err := writeCache(t.cacheDir, info.Model, setKey, len(missing), d, flat); err != nil && t.logger != nil {
			t.logger.Warn("shoal: finetune: cannot write the embedding cache", "dir", t.cacheDir, "err", err)
		}
	}
	return v, spent, nil
}

// remember replaces the memory cache with the embeddings of the last
// training set, so that a retrain on the same (or a grown) set encodes only
// new inputs while memory stays bounded by one set.
func (t *LocalTrainer) remember(fresh map[[32]byte][]float32) {
	t.mu.Lock()
	t.cache = fresh
	t.mu.Unlock()
}

// keySetDigest hashes the base model and an ordered list of input keys.
func keySetDigest(model string, keys [][32]byte) [32]byte {
	h := sha256.New()
	h.Write([]byte(model))
	h.Write([]byte{0})
	for _, k := range keys {
		h.Write(k[:])
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// split holds out about frac of each label's examples (at least 2 when a
// label has 4 or more, none for smaller labels, so that every label keeps
// positives in training), chosen with rng. It returns the indices of the
// training and validation rows, each in increasing order.
func split(labels []int32, classes int, frac float64, rng *rand.Rand) (train, val []int) {
	byClass := make([][]int, classes)
	for i, l := range labels {
		byClass[l] = append(byClass[l], i)
	}
	held := make([]bool, len(labels))
	for _, idx := range byClass {
		n := len(idx)
		if n < 4 {
			continue
		}
		k := min(max(int(float64(n)*frac+0.5), 2), n-2)
		rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx[:k] {
			held[i] = true
		}
	}
	for i, h := range held {
		if h {
			val = append(val, i)
		} else {
			train = append(train, i)
		}
	}
	return train, val
}
