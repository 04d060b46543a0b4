package feedback_test

import (
	"context"
	"fmt"
	"log"
	"math"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

// shoes returns a store of 3-D "photo embeddings" of 180 shoes, in
// namespace "shoes": boots lean one way on the second axis and trainers
// the other way, by less than the items vary, so plain similarity to two
// boots mixes them up; sandals lie apart.
func shoes(ctx context.Context) *memory.Store {
	store, err := memory.New(memory.WithMetric(index.Cosine))
	if err != nil {
		log.Fatal(err)
	}
	var recs []index.Record
	for i := range 180 {
		kind := [3]string{"boot", "trainer", "sandal"}[i%3]
		t := float64(i) * 0.618
		wiggle := float32(math.Sin(7*t)) * 0.3
		v := []float32{1, wiggle, float32(math.Cos(5*t)) * 0.3}
		switch kind {
		case "boot":
			v[1] += 0.12
		case "trainer":
			v[1] -= 0.12
		case "sandal":
			v = []float32{0.2, wiggle, 1}
		}
		recs = append(recs, index.Record{ID: fmt.Sprintf("%s-%03d", kind, i), Vector: v,
			Metadata: index.Metadata{"kind": kind}})
	}
	if err := store.Upsert(ctx, "shoes", recs); err != nil {
		log.Fatal(err)
	}
	return store
}

// Three rounds of feedback, where each item's "kind" plays the user.
func Example() {
	ctx := context.Background()
	store := shoes(ctx)
	defer store.Close()

	bucket := search.Bucket{Positives: []search.Example{search.ByID("boot-000"), search.ByID("boot-003")}}
	s, err := feedback.NewSession(store, "shoes", bucket)
	if err != nil {
		log.Fatal(err)
	}
	for range 3 {
		res, err := s.Results(ctx, 10)
		if err != nil {
			log.Fatal(err)
		}
		for _, r := range res {
			kind, _ := r.Metadata.String("kind")
			if err := s.Mark(ctx, r.ID, kind == "boot"); err != nil {
				log.Fatal(err)
			}
		}
	}
	for _, r := range s.Rounds() {
		fmt.Printf("round %d  %-10s  precision %.1f", r.Index, r.Strategy, r.Precision())
		if r.Checked {
			fmt.Printf("  (AUC on the marks: reranker %.2f, similarity %.2f)", r.ClassifierAUC, r.SimilarityAUC)
		}
		fmt.Println()
	}
	// Output:
	// round 0  similarity  precision 0.5
	// round 1  classifier  precision 1.0  (AUC on the marks: reranker 0.72, similarity 0.52)
	// round 2  classifier  precision 1.0  (AUC on the marks: reranker 0.91, similarity 0.17)
}
