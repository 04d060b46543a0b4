package openai_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/shoalhq/shoal/backends/openai"
	"github.com/shoalhq/shoal/embedding"
)

// BenchmarkEncodeAllLatency is the encoder's throughput benchmark:
// embedding.EncodeAll through the encoder and the openai-go client against
// openaitest answering each request 20 ms after it arrived (its body read).
// It reports, as indextest.BenchmarkUpsertAll does for stores, ratio: the
// rate over concurrency × batch / 20 ms; ratio_floor: the rate over
// concurrency × batch / floor_ms, the median time of a one-input Encode in
// the same run (the control: the loopback round trip and the fake's timer);
// the target is ratio_floor ≥ 0.95; ratio_batch: the rate over
// concurrency × batch / batch_ms, the median time of one full-batch Encode
// (the client's own cost per request, a second control). The first row is EncodeAll's defaults
// (32 inputs × 4 requests); the larger rows ask for more than a small
// machine running the fake too can encode and decode, and show where the
// CPU, not the latency, is the limit.
//
//	go test -run '^$' -bench EncodeAllLatency -benchtime 3x ./backends/openai
func BenchmarkEncodeAllLatency(b *testing.B) {
	const latency = 20 * time.Millisecond
	for _, c := range []struct{ conc, batch, dim int }{{4, 32, 8}, {4, 32, 1536}, {16, 32, 8}, {32, 64, 8}} {
		b.Run(fmt.Sprintf("conc=%d/batch=%d/dim=%d", c.conc, c.batch, c.dim), func(b *testing.B) {
			srv := newFake(b)
			srv.SetLatency(latency)
			enc := newEncoder(b, srv, openai.WithDimensions(c.dim))
			ctx := context.Background()
			// The controls: the median time of a one-input Encode, and
			// of an Encode of one full batch (what the client and the
			// fake cost per request on this machine, besides latency).
			median := func(in []embedding.Input) time.Duration {
				d := make([]time.Duration, 21)
				for i := range d {
					start := time.Now()
					if _, err := enc.Encode(ctx, in); err != nil {
						b.Fatal(err)
					}
					d[i] = time.Since(start)
				}
				slices.Sort(d)
				return d[len(d)/2]
			}
			floor := median(texts("floor"))
			var one []embedding.Input
			for x := range numbered(c.batch) {
				one = append(one, x)
			}
			batchFloor := median(one)
			n := 50 * c.conc * c.batch
			perSlot := float64(c.conc * c.batch)
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				got := 0
				for _, err := range embedding.EncodeAll(ctx, enc, numbered(n),
					embedding.WithBatchSize(c.batch), embedding.WithConcurrency(c.conc)) {
					if err != nil {
						b.Fatal(err)
					}
					got++
				}
				if got != n {
					b.Fatalf("embedded %d of %d", got, n)
				}
			}
			rate := float64(n*b.N) / time.Since(start).Seconds()
			b.ReportMetric(rate, "items/s")
			b.ReportMetric(rate/(perSlot/latency.Seconds()), "ratio")
			b.ReportMetric(rate/(perSlot/floor.Seconds()), "ratio_floor")
			b.ReportMetric(float64(floor)/1e6, "floor_ms")
			b.ReportMetric(rate/(perSlot/batchFloor.Seconds()), "ratio_batch")
			b.ReportMetric(float64(batchFloor)/1e6, "batch_ms")
			if c.conc == embedding.DefaultConcurrency && c.batch == embedding.DefaultBatchSize && c.dim == 8 {
				verdict := "ok"
				if r := rate / (perSlot / floor.Seconds()); r < 0.95 {
					verdict = "MISSED"
				}
				b.Logf("check: EncodeAll at its defaults over the one-request floor %.3f (target 0.95): %s (over a full-batch request: %.3f)",
					rate/(perSlot/floor.Seconds()), verdict, rate/(perSlot/batchFloor.Seconds()))
			}
		})
	}
}

// BenchmarkDecode compares the two encodings end to end (request, JSON,
// decoding) with no latency: batches of 64 inputs of 1536 dimensions, the
// fake on the same machine encoding what the client decodes.
//
//	go test -run '^$' -bench Decode -benchtime 2s ./backends/openai
func BenchmarkDecode(b *testing.B) {
	for _, format := range []string{openai.Base64, openai.Float} {
		b.Run(format, func(b *testing.B) {
			srv := newFake(b)
			enc := newEncoder(b, srv, openai.WithEncodingFormat(format))
			batch := make([]embedding.Input, 64)
			for i := range batch {
				batch[i] = embedding.Input{ID: fmt.Sprint(i), Text: fmt.Sprintf("item %d", i)}
			}
			b.ResetTimer()
			for range b.N {
				if _, err := enc.Encode(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*len(batch)), "µs/vector")
		})
	}
}
