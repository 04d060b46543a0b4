package ingest_test

import (
	"context"
	"fmt"
	"iter"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/ingest"
)

// Figures of the throughput benchmark (issue 15).
const (
	benchBatch       = 64
	benchConcurrency = 8
	benchEncode      = 50 * time.Millisecond // per Encode call
	benchStoreCall   = 20 * time.Millisecond // per Fetch or Upsert call
	benchDim         = 64
)

// slowStore answers every call after benchStoreCall and keeps nothing, so
// that memory measures the job, not the store.
type slowStore struct{}

func wait(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (slowStore) Upsert(ctx context.Context, _ string, _ []index.Record) error {
	return wait(ctx, benchStoreCall)
}
func (slowStore) Query(context.Context, index.Query) ([]index.Match, error) { return nil, nil }
func (slowStore) Fetch(ctx context.Context, _ string, _ []string) ([]index.Record, error) {
	return nil, wait(ctx, benchStoreCall)
}
func (slowStore) Delete(context.Context, string, []string) error { return nil }
func (slowStore) Scan(context.Context, string, index.Filter) iter.Seq2[index.Record, error] {
	return func(func(index.Record, error) bool) {}
}
func (slowStore) Close() error { return nil }

// synthetic yields n inputs made on the fly.
func synthetic(n int) iter.Seq2[embedding.Input, error] {
	return func(yield func(embedding.Input, error) bool) {
		for i := range n {
			if !yield(embedding.Input{ID: "id-" + strconv.Itoa(i), Text: "synthetic text " + strconv.Itoa(i),
				Metadata: map[string]any{"i": int64(i)}}, nil) {
				return
			}
		}
	}
}

// TestBenchChild runs one benchmark job and prints "items seconds maxrss_kb".
func TestBenchChild(t *testing.T) {
	v := os.Getenv("SHOAL_INGEST_BENCH_CHILD")
	if v == "" {
		t.Skip("run by TestThroughputAndMemory")
	}
	n, err := strconv.Atoi(v)
	require.NoError(t, err)
	enc := &fakeEncoder{model: "bench", dim: benchDim, latency: benchEncode}
	sum, err := ingest.Run(context.Background(), enc, slowStore{}, "bench", synthetic(n),
		ingest.WithBatchSize(benchBatch), ingest.WithConcurrency(benchConcurrency))
	require.NoError(t, err)
	require.Equal(t, n, sum.Encoded)
	var ru syscall.Rusage
	require.NoError(t, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	fmt.Printf("bench %d %.3f %d\n", n, sum.Elapsed.Seconds(), ru.Maxrss)
}

// TestThroughputAndMemory is the ingest benchmark of issue 15: synthetic
// items through a fake encoder (50 ms per batch of 64) and a fake store
// (20 ms per call), concurrency 8, in child processes of 100,000 and
// 1,000,000 items (SHOAL_INGEST_BENCH_N sets the larger). It needs
// SHOAL_INGEST_BENCH=1 (the 1M run takes about 100 s) and ends with check:
// lines: throughput ≥ 95 % of the ideal set by the slower stage (the
// encoder: 8 × 64 items per 50 ms), and peak RSS at the larger size
// ≤ 1.2× at 100,000.
func TestThroughputAndMemory(t *testing.T) {
	if os.Getenv("SHOAL_INGEST_BENCH") == "" {
		t.Skip("set SHOAL_INGEST_BENCH=1 to run the ingest benchmark (about 2 minutes)")
	}
	big := 1_000_000
	if v := os.Getenv("SHOAL_INGEST_BENCH_N"); v != "" {
		var err error
		big, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	encRate := float64(benchConcurrency*benchBatch) / benchEncode.Seconds()
	// Per batch the store takes one Fetch and one Upsert; the job allows
	// 2·concurrency store calls at once.
	storeRate := float64(2*benchConcurrency) / benchStoreCall.Seconds() / 2 * benchBatch
	ideal := min(encRate, storeRate)
	type result struct {
		n       int
		seconds float64
		rssKB   int64
	}
	run := func(n int) result {
		cmd := exec.Command(os.Args[0], "-test.run=^TestBenchChild$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "SHOAL_INGEST_BENCH_CHILD="+strconv.Itoa(n))
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		for _, line := range strings.Split(string(out), "\n") {
			var r result
			if _, err := fmt.Sscanf(line, "bench %d %g %d", &r.n, &r.seconds, &r.rssKB); err == nil {
				return r
			}
		}
		t.Fatalf("no result in %s", out)
		return result{}
	}
	small, large := run(100_000), run(big)
	check := func(what string, got, target float64, ok bool, format string) {
		verdict := "ok"
		if !ok {
			verdict = "MISSED"
			t.Fail()
		}
		fmt.Printf("check: %s "+format+" (target "+format+"): %s\n", what, got, target, verdict)
	}
	for _, r := range []result{small, large} {
		rate := float64(r.n) / r.seconds
		fmt.Printf("ingest %d items: %.1f s, %.0f items/s (ideal %.0f), peak RSS %.1f MiB\n", r.n, r.seconds, rate, ideal, float64(r.rssKB)/1024)
	}
	ratio := float64(large.n) / large.seconds / ideal
	check(fmt.Sprintf("throughput at %d items vs the encoder's ideal", large.n), ratio, 0.95, ratio >= 0.95, "%.3f")
	rss := float64(large.rssKB) / float64(small.rssKB)
	check(fmt.Sprintf("peak RSS at %d vs 100000 items", large.n), rss, 1.2, rss <= 1.2, "%.2f×")
}
