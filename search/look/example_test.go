package look_test

import (
	"context"
	"fmt"
	"math"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search/look"
)

// A small pool: two clusters on a circle, one item far from both, and a
// near-copy of item a-0 that leaks into the test split.
func examplePool(ctx context.Context) index.VectorStore {
	store, _ := memory.New(memory.WithMetric(index.Cosine))
	var recs []index.Record
	for c, centre := range []float64{0, math.Pi / 2} {
		for i := range 12 {
			angle := centre + 0.02*float64(i)
			recs = append(recs, index.Record{
				ID:       fmt.Sprintf("%c-%d", 'a'+c, i),
				Vector:   []float32{float32(math.Cos(angle)), float32(math.Sin(angle)), 0},
				Metadata: index.Metadata{"split": "train", "label": string(rune('a' + c)), "pred": string(rune('a' + c))},
			})
		}
	}
	recs = append(recs,
		index.Record{ID: "odd", Vector: []float32{0, 0, 1}, Metadata: index.Metadata{"split": "train", "label": "a", "pred": "b"}},
		index.Record{ID: "copy", Vector: []float32{1, 0.0001, 0}, Metadata: index.Metadata{"split": "test", "label": "a", "pred": "a"}},
	)
	_ = store.Upsert(ctx, "pool", recs)
	return store
}

func Example() {
	ctx := context.Background()
	store := examplePool(ctx)
	defer store.Close()

	sp, err := look.Load(ctx, store, "pool")
	if err != nil {
		fmt.Println(err)
		return
	}
	rare, _ := sp.Rarest(ctx, look.WithK(3), look.WithTop(1))
	fmt.Printf("rarest: %s (%.2f)\n", rare[0].ID, rare[0].Score)

	leaks, _ := sp.Duplicates(ctx, 0.0001, look.WithAcross("split", "train", "test"))
	for _, p := range leaks.Pairs {
		fmt.Println("leak:", p.A, "→", p.B)
	}

	clusters, _ := sp.ErrorClusters(ctx, "pred", "label", look.WithClusters(3))
	fmt.Printf("worst cluster: %d of %d wrong, e.g. %v\n", clusters[0].Errors, clusters[0].Size, clusters[0].Representatives[:1])
	// Output:
	// rarest: odd (1.00)
	// leak: a-0 → copy
	// worst cluster: 1 of 1 wrong, e.g. [odd]
}

func ExampleSpace_Map() {
	ctx := context.Background()
	store := examplePool(ctx)
	defer store.Close()

	sp, _ := look.Load(ctx, store, "pool")
	m, err := sp.Map(ctx, look.PCA)
	if err != nil {
		fmt.Println(err)
		return
	}
	q, _ := m.Quality(ctx, 3)
	fmt.Printf("%d points, trustworthiness %.2f\n", len(m.Points), q.Trustworthiness)
	// m.WritePNG(f, look.WithColorBy("label")) and m.WriteHTML(g) draw it.
	// Output:
	// 26 points, trustworthiness 1.00
}
