package look

import (
	"cmp"
	"context"
	"math"
	"slices"

	"github.com/shoalhq/shoal/index"
)

// Rare is an item with its rarity score.
type Rare struct {
	ID    string
	Index int // the item in the space
	// Score is the weighted mean distance to the item's k nearest
	// neighbours ([WithWeights]; equal weights by default): larger is
	// rarer.
	Score float64
	// Neighbors are the item's k nearest neighbours, nearest first.
	Neighbors []Neighbor
	Metadata  index.Metadata
}

// Rarity returns every item's rarity score (indexed like the space) and
// the kNN graph it came from. An item with fewer than k neighbours (a
// store query in a tiny namespace) is scored on those it has, with their
// weights; an item with none scores +Inf.
//
// Options: those of [Space.Neighbors] (WithWeights sets the weights as
// well as k); any other is an error.
func (sp *Space) Rarity(ctx context.Context, opts ...Option) ([]float64, *Graph, error) {
	if ctx == nil {
		return nil, nil, errorf(index.ErrInvalidArgument, "Space.Rarity: nil context")
	}
	c, err := newConfig(callRarity, opts)
	if err != nil {
		return nil, nil, err
	}
	return sp.rarity(ctx, &c)
}

func (sp *Space) rarity(ctx context.Context, c *config) ([]float64, *Graph, error) {
	g, err := sp.neighbors(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	w := c.weights
	if w == nil {
		w = make([]float64, c.k)
		for i := range w {
			w[i] = 1
		}
	}
	scores := make([]float64, sp.Len())
	for i := range scores {
		var s, ws float64
		for j := range g.K {
			d := float64(g.dist[i*g.K+j])
			if math.IsInf(d, 1) {
				break
			}
			s += w[j] * d
			ws += w[j]
		}
		if ws == 0 {
			scores[i] = math.Inf(1)
			continue
		}
		scores[i] = s / ws
	}
	return scores, g, nil
}

// Rarest returns the [WithTop] items with the largest rarity scores (every
// item with WithTop(0)), rarest first; ties go to the smaller ID. To rank
// only part of a namespace, [Load] it with [WithFilter].
//
// Options: those of [Space.Rarity], and WithTop; any other is an error.
func (sp *Space) Rarest(ctx context.Context, opts ...Option) ([]Rare, error) {
	if ctx == nil {
		return nil, errorf(index.ErrInvalidArgument, "Space.Rarest: nil context")
	}
	c, err := newConfig(callRarest, opts)
	if err != nil {
		return nil, err
	}
	scores, g, err := sp.rarity(ctx, &c)
	if err != nil {
		return nil, err
	}
	order := make([]int, len(scores))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(scores[b], scores[a]); c != 0 {
			return c
		}
		return cmp.Compare(sp.ids[a], sp.ids[b])
	})
	if c.top > 0 && c.top < len(order) {
		order = order[:c.top]
	}
	out := make([]Rare, len(order))
	for r, i := range order {
		out[r] = Rare{ID: sp.ids[i], Index: i, Score: scores[i], Neighbors: g.neighbors(i), Metadata: sp.meta[i]}
	}
	return out, nil
}
