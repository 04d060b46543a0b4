package ingest_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index/ingest"
)

// TestThrottlingConvergesWithoutLoss runs a job against an encoder with a
// quota of items per second that also answers 429 to 10 % of calls. The
// job knows nothing of the quota: it backs off on each 429 (honouring the
// retry-after) and halves its concurrency, then grows it back. Every item
// ends in the store. The throughput against the quota is logged; with
// SHOAL_INGEST_BENCH=1 it must be at least 90 % (a timing check, off by
// default).
func TestThrottlingConvergesWithoutLoss(t *testing.T) {
	t.Parallel()
	const n, quotaRate = 6000, 3000.0
	s, enc := newStore(t), newEncoder(8)
	q := newQuota(quotaRate, 64, 0.10, 7)
	enc.onCall = q.take
	enc.latency = 2 * time.Millisecond
	src := items(n, "v1")
	sum, err := ingest.Run(context.Background(), enc, s, ns, embedding.Inputs(src),
		ingest.WithBatchSize(32), ingest.WithConcurrency(8), ingest.WithRetry(100, 5*time.Millisecond, time.Second))
	require.NoError(t, err)
	assert.Equal(t, n, sum.Encoded)
	assert.Zero(t, sum.Failed)
	assert.Positive(t, sum.Throttled)
	requireStoreHolds(t, s, ns, enc, src)
	ratio := float64(n) / sum.Elapsed.Seconds() / quotaRate
	t.Logf("throttling: %d items in %v, %d calls refused: %.0f items/s = %.1f%% of the quota of %.0f",
		n, sum.Elapsed.Round(time.Millisecond), q.refused, float64(n)/sum.Elapsed.Seconds(), 100*ratio, quotaRate)
	if os.Getenv("SHOAL_INGEST_BENCH") != "" {
		assert.GreaterOrEqual(t, ratio, 0.9)
	}
}

// TestEncoderRateIsHonoured checks WithEncoderRate's items per second: a
// quota the job is told of is never exceeded (no 429 at all).
func TestEncoderRateIsHonoured(t *testing.T) {
	t.Parallel()
	const n = 2000
	s, enc := newStore(t), newEncoder(8)
	q := newQuota(4000, 4000, 0, 1) // the limiter bursts 1 s of its rate, under the quota's
	enc.onCall = q.take
	_, err := ingest.Run(context.Background(), enc, s, ns, embedding.Inputs(items(n, "v1")),
		ingest.WithBatchSize(50), ingest.WithEncoderRate(0, 3600))
	require.NoError(t, err)
	assert.Zero(t, q.refused)
}
