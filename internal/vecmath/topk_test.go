package vecmath

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestNearestKKeepsTheSmallest(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	for _, k := range []int{1, 3, 10} {
		keys := make([]float32, 500)
		for i := range keys {
			keys[i] = float32(r.IntN(100)) // ties on purpose
		}
		keys[17] = float32(math.NaN())
		nk := NewNearestK(2, k)
		// Offered in blocks, skipping target 5.
		for b := 0; b < len(keys); b += 64 {
			nk.Offer(1, keys[b:min(b+64, len(keys))], b, 5)
		}
		type kv struct {
			i int
			v float32
		}
		var want []kv
		for i, v := range keys {
			if i != 5 && !math.IsNaN(float64(v)) {
				want = append(want, kv{i, v})
			}
		}
		slices.SortStableFunc(want, func(a, b kv) int { return cmp.Compare(a.v, b.v) })
		gotK, gotI := nk.Row(1)
		for j := range k {
			if gotK[j] != want[j].v || int(gotI[j]) != want[j].i {
				t.Fatalf("k=%d rank %d: got (%d, %v), want (%d, %v)", k, j, gotI[j], gotK[j], want[j].i, want[j].v)
			}
		}
		k0, i0 := nk.Row(0)
		if !math.IsInf(float64(k0[0]), 1) || i0[0] != -1 {
			t.Fatalf("untouched row: %v %v", k0, i0)
		}
		one := NewNearestK(1, k)
		for i, v := range keys {
			if i != 5 {
				one.OfferOne(0, v, i)
			}
		}
		k1, i1 := one.Row(0)
		if !slices.Equal(k1, gotK) || !slices.Equal(i1, gotI) {
			t.Fatalf("OfferOne disagrees with Offer: %v %v vs %v %v", i1, k1, gotI, gotK)
		}
	}
}

func TestTopKTies(t *testing.T) {
	t.Parallel()
	// Five items with one score: the default keeps the smallest indexes,
	// a tie function decides otherwise, whatever the push order.
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 4, 0, 3, 1}} {
		def := NewTopK(3, nil)
		rev := NewTopK(3, func(a, b int) bool { return a > b })
		for _, i := range order {
			def.Push(i, 1)
			rev.Push(i, 1)
		}
		def.Push(9, 2) // a better score wins whatever the ties
		var got, gotRev []int
		for _, s := range def.Sorted() {
			got = append(got, s.Index)
		}
		for _, s := range rev.Sorted() {
			gotRev = append(gotRev, s.Index)
		}
		if !slices.Equal(got, []int{9, 0, 1}) || !slices.Equal(gotRev, []int{4, 3, 2}) {
			t.Errorf("order %v: default %v, reversed ties %v", order, got, gotRev)
		}
	}
}
