package pinecone_test

import (
	"testing"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

func BenchmarkTmpUpsertNoLatency(b *testing.B) {
	b.Setenv("PINECONE_ADDITIONAL_HEADERS", "{}")
	srv := newFake(b)
	s, _ := openStore(b, srv, 64, index.DotProduct)
	recs := indextest.RandomRecords(1, 1000, 64)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Upsert(b.Context(), "ns", recs); err != nil {
			b.Fatal(err)
		}
	}
}
