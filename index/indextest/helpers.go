package indextest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/shoalhq/shoal/index"
)

// ScoreTolerance is the absolute difference the suite allows between a
// store's score and the exact one (computed in float64 by [Score]), scaled by
// the magnitude of the score when that is above 1. Stores compute in float32
// and may quantise slightly.
const ScoreTolerance = 1e-4

// RandomVectors returns n vectors of length dim with elements drawn
// uniformly from [-1, 1), deterministically from seed.
func RandomVectors(seed uint64, n, dim int) [][]float32 {
	rng := rand.New(rand.NewPCG(seed, 0x5ee5a11))
	out := make([][]float32, n)
	for i := range out {
		out[i] = randomVector(rng, dim)
	}
	return out
}

func randomVector(rng *rand.Rand, dim int) []float32 {
	v := make([]float32, dim)
	for j := range v {
		v[j] = rng.Float32()*2 - 1
	}
	return v
}

// RandomGroups are the values of the "group" field of [RandomRecords].
var RandomGroups = []string{"alpha", "beta", "gamma", "delta"}

// RandomRecords returns n records with vectors of length dim, deterministic
// for a seed. IDs are "r00000", "r00001", ...; metadata holds every supported
// type:
//
//	"i"     int64    the record's position
//	"group" string   one of RandomGroups
//	"even"  bool     whether i is even
//	"score" float64  a multiple of 0.25 in [0, 100)
//	"tags"  []string one or two of "a", "b", "c", "d"
//	"opt"   string   only on every third record (i%3 == 0)
func RandomRecords(seed uint64, n, dim int) []index.Record {
	rng := rand.New(rand.NewPCG(seed, 0x2ec02d5))
	tags := []string{"a", "b", "c", "d"}
	recs := make([]index.Record, n)
	for i := range recs {
		md := index.Metadata{
			"i":     int64(i),
			"group": RandomGroups[rng.IntN(len(RandomGroups))],
			"even":  i%2 == 0,
			"score": float64(rng.IntN(400)) / 4,
		}
		t1 := tags[rng.IntN(len(tags))]
		if t2 := tags[rng.IntN(len(tags))]; t2 != t1 {
			md["tags"] = []string{t1, t2}
		} else {
			md["tags"] = []string{t1}
		}
		if i%3 == 0 {
			md["opt"] = fmt.Sprintf("opt-%d", i)
		}
		recs[i] = index.Record{ID: fmt.Sprintf("r%05d", i), Vector: randomVector(rng, dim), Metadata: md}
	}
	return recs
}

// Score returns the exact score of vectors a and b under m, computed in
// float64: the cosine similarity (0 when either vector is zero), the dot
// product, or the negated squared Euclidean distance. a and b must have the
// same length.
func Score(m index.Metric, a, b []float32) float64 {
	var dot, na, nb, l2 float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
		l2 += (x - y) * (x - y)
	}
	switch m {
	case index.Cosine:
		if na == 0 || nb == 0 {
			return 0
		}
		return dot / (math.Sqrt(na) * math.Sqrt(nb))
	case index.Euclidean:
		return -l2
	default:
		return dot
	}
}

// MetadataEqual reports whether two metadata maps hold the same fields with
// the same values, comparing numbers by value whatever their Go type (int64 3
// equals float64 3), lists element by element in order, and treating nil and
// empty maps as equal.
func MetadataEqual(a, b index.Metadata) bool {
	return metadataDiff(a, b) == ""
}

// metadataDiff describes the first difference between want and got, or
// returns "".
func metadataDiff(want, got index.Metadata) string {
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		w, wok := want[k]
		g, gok := got[k]
		switch {
		case !wok:
			return fmt.Sprintf("unexpected field %q = %#v", k, g)
		case !gok:
			return fmt.Sprintf("field %q missing, want %#v", k, w)
		}
		if wn, ok := want.Number(k); ok {
			gn, ok := got.Number(k)
			if !ok || gn != wn {
				return fmt.Sprintf("field %q = %#v (%T), want the number %v", k, g, g, wn)
			}
			continue
		}
		switch wv := w.(type) {
		case string, bool:
			if g != w {
				return fmt.Sprintf("field %q = %#v (%T), want %#v (%T)", k, g, g, w, w)
			}
		case []string:
			gv, ok := g.([]string)
			if !ok || !slices.Equal(wv, gv) {
				return fmt.Sprintf("field %q = %#v (%T), want %#v", k, g, g, w)
			}
		default:
			return fmt.Sprintf("field %q: unsupported wanted value %#v (%T)", k, w, w)
		}
	}
	return ""
}

// ScanAll collects a [index.VectorStore.Scan] of namespace with filter f and
// returns its records or the first error.
func ScanAll(ctx context.Context, s index.VectorStore, namespace string, f index.Filter) ([]index.Record, error) {
	var out []index.Record
	for r, err := range s.Scan(ctx, namespace, f) {
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
