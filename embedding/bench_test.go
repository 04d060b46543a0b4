package embedding_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/shoalhq/shoal/embedding"
)

// BenchmarkEncodeAll measures the pipeline's overhead against an encoder
// whose every call takes a fixed latency (a remote model): with batch 32
// and concurrency 8, the ideal is 8·32/latency items/s. It reports achieved
// items/s, the ideal and their ratio ("efficiency"); with no latency it
// reports the pipeline's raw throughput.
func BenchmarkEncodeAll(b *testing.B) {
	const batch, conc = 32, 8
	for _, latency := range []time.Duration{20 * time.Millisecond, 2 * time.Millisecond, 0} {
		b.Run(fmt.Sprintf("latency=%v", latency), func(b *testing.B) {
			f := newFake(16)
			f.latency = latency
			n := 4 * batch * conc // four rounds of full concurrency per iteration
			if latency == 0 {
				n = 64 * batch * conc
			}
			in := inputs(n)
			b.ReportAllocs()
			for b.Loop() {
				for _, err := range embedding.EncodeAll(context.Background(), f, embedding.Inputs(in),
					embedding.WithBatchSize(batch), embedding.WithConcurrency(conc)) {
					if err != nil {
						b.Fatal(err)
					}
				}
			}
			got := float64(b.N*n) / b.Elapsed().Seconds()
			b.ReportMetric(got, "items/s")
			if latency > 0 {
				ideal := float64(conc*batch) / latency.Seconds()
				b.ReportMetric(ideal, "ideal_items/s")
				b.ReportMetric(got/ideal, "efficiency")
			}
		})
	}
}
