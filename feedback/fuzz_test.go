package feedback_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/feedback"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
	"github.com/shoalhq/shoal/search"
)

// FuzzResume feeds arbitrary documents to Resume: it must never panic,
// and a session it accepts must save to a document it accepts again,
// unchanged.
func FuzzResume(f *testing.F) {
	ctx := context.Background()
	store, err := memory.New()
	require.NoError(f, err)
	defer store.Close()
	var recs []index.Record
	for i := range 12 {
		recs = append(recs, index.Record{ID: fmt.Sprintf("r%d", i), Vector: []float32{1, float32(i), float32(i % 3)}})
	}
	require.NoError(f, store.Upsert(ctx, "ns", recs))

	s, err := feedback.NewSession(store, "ns", search.Bucket{
		Positives: []search.Example{search.ByID("r0"), search.ByVector([]float32{1, 1, 0})},
		Negatives: []search.Example{search.ByID("r11")},
	})
	require.NoError(f, err)
	for range 2 {
		res, err := s.Results(ctx, 3)
		require.NoError(f, err)
		for _, r := range res {
			require.NoError(f, s.Mark(ctx, r.ID, r.ID < "r5"))
		}
	}
	var buf bytes.Buffer
	require.NoError(f, s.Save(&buf))
	f.Add(buf.Bytes())
	f.Add([]byte(`{"version":1,"namespace":"ns","bucket":{"positives":[{"input":{"text":"x"}}]},"marks":[],"rounds":[]}`))
	f.Add([]byte(`{"version":1,"namespace":"ns","bucket":{"positives":[{"id":"r1"}]},"marks":[{"id":"r2","relevant":true}],"rounds":[{"strategy":"blend","ids":["r3"],"classifierAUC":0.5,"similarityAUC":0.25}],"background":[]}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`null`))

	f.Fuzz(func(t *testing.T, doc []byte) {
		s, err := feedback.Resume(ctx, bytes.NewReader(doc), store)
		if err != nil {
			return
		}
		var first bytes.Buffer
		if err := s.Save(&first); err != nil {
			t.Fatalf("save a resumed session: %v", err)
		}
		again, err := feedback.Resume(ctx, bytes.NewReader(first.Bytes()), store)
		if err != nil {
			t.Fatalf("resume a saved session: %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := again.Save(&second); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("save/resume not stable:\n%s\n%s", first.Bytes(), second.Bytes())
		}
	})
}
