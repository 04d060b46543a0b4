package search

import (
	"context"
	"fmt"
	"strings"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
)

// resolved is a bucket turned into vectors.
type resolved struct {
	pos, neg [][]float32 // raw vectors, in bucket order; never modified
	ids      []string    // the distinct IDs of examples given by ID
	dim      int         // the common length of every vector
}

// resolve fetches the examples given by ID, embeds those given by input and
// checks that every vector has the same dimension.
func (s *Searcher) resolve(ctx context.Context, b Bucket) (*resolved, error) {
	all := make([]Example, 0, len(b.Positives)+len(b.Negatives))
	all = append(all, b.Positives...)
	all = append(all, b.Negatives...)
	describe := func(i int) string {
		if i < len(b.Positives) {
			return all[i].describe("positive", i)
		}
		return all[i].describe("negative", i-len(b.Positives))
	}

	r := &resolved{}
	vecs := make([][]float32, len(all))

	// Examples by ID: one Fetch for all of them.
	seen := make(map[string]bool)
	for _, e := range all {
		if e.ID != "" && !seen[e.ID] {
			seen[e.ID] = true
			r.ids = append(r.ids, e.ID)
		}
	}
	fetchedDim := 0
	if len(r.ids) > 0 {
		recs, err := s.store.Fetch(ctx, s.namespace, r.ids)
		if err != nil {
			return nil, errorf(nil, "fetch bucket examples from namespace %q: %w", s.namespace, err)
		}
		byID := make(map[string][]float32, len(recs))
		for _, rec := range recs {
			byID[rec.ID] = rec.Vector
		}
		var missing []string
		for _, id := range r.ids {
			if _, ok := byID[id]; !ok {
				missing = append(missing, fmt.Sprintf("%q", id))
			}
		}
		if len(missing) > 0 {
			return nil, errorf(nil, "bucket example %s in namespace %q: %w", strings.Join(missing, ", "), s.namespace, index.ErrNotFound)
		}
		for i, e := range all {
			if e.ID != "" {
				vecs[i] = byID[e.ID]
			}
		}
		fetchedDim = len(recs[0].Vector)
	}

	// The encoder must speak the namespace's space; checked before it is
	// called.
	if s.defaults.encoder != nil && fetchedDim > 0 && s.defaults.encoder.Info().Dim != fetchedDim {
		return nil, errorf(nil, "encoder %q produces %d-dim vectors but namespace %q holds %d-dim ones: %w",
			s.defaults.encoder.Info().Model, s.defaults.encoder.Info().Dim, s.namespace, fetchedDim, index.ErrDimension)
	}

	// Examples by input: embedded together, in order.
	var inputs []embedding.Input
	var inputAt []int
	for i, e := range all {
		if e.Input != nil {
			inputs = append(inputs, *e.Input)
			inputAt = append(inputAt, i)
		}
	}
	if len(inputs) > 0 {
		if s.defaults.encoder == nil {
			return nil, errorf(nil, "%w: %s", ErrNoEncoder, describe(inputAt[0]))
		}
		j := 0
		for emb, err := range embedding.EncodeAll(ctx, s.defaults.encoder, embedding.Inputs(inputs)) {
			if err != nil {
				return nil, errorf(nil, "embed %s: %w", describe(inputAt[min(j, len(inputAt)-1)]), err)
			}
			vecs[inputAt[j]] = emb.Vector
			j++
		}
		if j != len(inputs) {
			return nil, errorf(nil, "embed bucket: %w: %d vectors for %d inputs", embedding.ErrBadOutput, j, len(inputs))
		}
	}

	for i, e := range all {
		if e.Vector != nil {
			vecs[i] = e.Vector
		}
	}

	// One dimension for all: the namespace's (from fetched records) when
	// known, else the encoder's, else the first vector's.
	dim, source := fetchedDim, fmt.Sprintf("namespace %q", s.namespace)
	if dim == 0 && s.defaults.encoder != nil {
		dim, source = s.defaults.encoder.Info().Dim, fmt.Sprintf("encoder %q", s.defaults.encoder.Info().Model)
	}
	if dim == 0 {
		dim, source = len(vecs[0]), describe(0)
	}
	for i, v := range vecs {
		if len(v) != dim {
			return nil, errorf(nil, "%s has %d dimensions, %s has %d: %w", describe(i), len(v), source, dim, index.ErrDimension)
		}
	}
	r.dim = dim
	r.pos = vecs[:len(b.Positives)]
	r.neg = vecs[len(b.Positives):]
	return r, nil
}

// Vectors is a bucket turned into vectors: what [Searcher.Resolve] returns.
type Vectors struct {
	// Positives and Negatives hold one vector per example, in bucket
	// order, as stored or embedded (not normalised). Callers must not
	// modify them: a fetched vector may be shared with the store.
	Positives, Negatives [][]float32
	// Dim is the common length of every vector.
	Dim int
}

// Resolve turns a bucket into vectors the way [Searcher.Search] does: the
// examples given by ID are fetched from the searcher's namespace in one
// call, those given by input are embedded with the searcher's encoder, and
// every vector is checked to have the namespace's dimension. Packages that
// rank by a bucket in their own way (package feedback) start here.
//
// The errors are those of Search: [ErrInvalidBucket] for a malformed
// bucket, [index.ErrNotFound] naming missing IDs, [ErrNoEncoder],
// [index.ErrDimension] naming the example, and the store's and encoder's
// own errors.
func (s *Searcher) Resolve(ctx context.Context, b Bucket) (Vectors, error) {
	if ctx == nil {
		return Vectors{}, errorf(index.ErrInvalidArgument, "Resolve: nil context")
	}
	if err := b.Validate(); err != nil {
		return Vectors{}, err
	}
	if err := ctx.Err(); err != nil {
		return Vectors{}, err
	}
	r, err := s.resolve(ctx, b)
	if err != nil {
		return Vectors{}, err
	}
	return Vectors{Positives: r.pos, Negatives: r.neg, Dim: r.dim}, nil
}
