package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func tiny() config {
	cfg := defaultConfig()
	cfg.fashion, cfg.peers = "", false
	cfg.synthetic, cfg.synthQ, cfg.dim, cfg.clusters = 1000, 50, 8, 20
	cfg.efs = []int{10, 64}
	return cfg
}

// TestSynthetic runs part B on a tiny set without peers: the program runs
// end to end, prints its table and one check line per target, and skips
// the targets it could not measure with the reason.
func TestSynthetic(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), tiny(), &out, io.Discard))
	text := out.String()
	assert.Contains(t, text, "B. Synthetic clustered set: 1000 × 8")
	assert.Contains(t, text, "ef 64")
	assert.Contains(t, text, "check: 2-core build speedup, synthetic ")
	assert.Contains(t, text, "check: reopen of the persisted store, synthetic ")
	assert.Contains(t, text, "check: QPS@0.95 vs hnswlib, fashion L2 skipped (-fashion \"\")")
	assert.Contains(t, text, "check: QPS@0.95 vs hnswlib, synthetic L2 skipped (-peers=false)")
	assert.Equal(t, 13, strings.Count(text, "\ncheck: "), text)
}

// TestFashion runs part A briefly on the first 500 Fashion-MNIST images
// when Debian's dataset-fashion-mnist is installed.
func TestFashion(t *testing.T) {
	cfg := tiny()
	cfg.fashion = defaultConfig().fashion
	if _, err := os.Stat(filepath.Join(cfg.fashion, "train-images-idx3-ubyte.gz")); err != nil {
		t.Skip("Fashion-MNIST not found; install it with: apt-get install dataset-fashion-mnist")
	}
	if testing.Short() || raceEnabled {
		t.Skip("reading the 60,000 train images takes half a minute under the race detector")
	}
	t.Parallel()
	cfg.base, cfg.queries, cfg.exactQ, cfg.synthetic = 500, 20, 5, 0
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), cfg, &out, io.Discard))
	text := out.String()
	assert.Contains(t, text, "A. Fashion-MNIST-784: 500 base vectors, 20 queries, k=10")
	assert.Contains(t, text, "fashion cosine, builds and queries on 1 thread")
	assert.Contains(t, text, "one query per call, 1 thread (QPS)")
}

func TestMissingFashion(t *testing.T) {
	t.Parallel()
	cfg := tiny()
	cfg.fashion, cfg.synthetic = t.TempDir(), 0
	var out bytes.Buffer
	require.NoError(t, run(context.Background(), cfg, &out, io.Discard))
	assert.Contains(t, out.String(), "apt-get install dataset-fashion-mnist")
}

func TestQPSAt(t *testing.T) {
	t.Parallel()
	sw := []point{{EF: 10, Recall: 0.8, QPS: 1000}, {EF: 20, Recall: 0.9, QPS: 100}, {EF: 40, Recall: 0.99, QPS: 10}}
	for _, tc := range []struct {
		target float64
		qps    float64
		at     string
		ok     bool
	}{
		{0.7, 1000, ">=", true},
		{0.8, 1000, ">=", true},
		{0.85, 316.2278, "", true}, // halfway in log space
		{0.9, 100, "", true},
		{0.99, 10, "", true},
		{0.995, 0, "", false},
	} {
		qps, at, ok := qpsAt(sw, tc.target)
		assert.Equal(t, tc.ok, ok, tc.target)
		assert.InDelta(t, tc.qps, qps, 0.01, tc.target)
		assert.Equal(t, tc.at, at, tc.target)
	}
}

func TestParseInts(t *testing.T) {
	t.Parallel()
	got, err := parseInts("64, 10,32")
	require.NoError(t, err)
	assert.Equal(t, []int{10, 32, 64}, got)
	for _, bad := range []string{"", "10,x", "0", "-3"} {
		_, err := parseInts(bad)
		assert.Error(t, err, bad)
	}
}

func TestRecall(t *testing.T) {
	t.Parallel()
	gt := [][]int32{{1, 2}, {3, 4}}
	assert.InDelta(t, 0.75, recall([][]int32{{2, 1}, {3, -1}}, gt, 2), 1e-9)
}
