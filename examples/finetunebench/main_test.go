package main

import (
	"context"
	"flag"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/examples/internal/dataset"
)

// TestText runs the text benchmark briefly: the command works end to end and
// fine-tuning helps on the test part even after a few epochs.
func TestText(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags(flag.NewFlagSet("test", flag.ContinueOnError), []string{"-text", "-epochs", "15"})
	require.NoError(t, err)
	cfg.textData = "testdata/debian-packages.tsv"
	res, err := runText(context.Background(), cfg, io.Discard)
	require.NoError(t, err)
	assert.Greater(t, res.after.MAPAtR, res.before.MAPAtR)
	assert.Equal(t, 377, res.after.Queries)
}

func TestParseFlags(t *testing.T) {
	t.Parallel()
	cfg, err := parseFlags(flag.NewFlagSet("test", flag.ContinueOnError),
		[]string{"-hidden", "none", "-loss", "triplet", "-batch", "4,4", "-pca", "16", "-seed", "3"})
	require.NoError(t, err)
	assert.Len(t, cfg.overrides, 5)
	for _, bad := range [][]string{{"-loss", "hinge"}, {"-batch", "4"}, {"-hidden", "a,b"}, {"-act", "tanh"}} {
		_, err := parseFlags(flag.NewFlagSet("test", flag.ContinueOnError), bad)
		assert.Error(t, err, "%v", bad)
	}
}

// BenchmarkFashionMNIST is the full benchmark: train on the 60,000 images
// of the train split, evaluate the 10,000 of the test split. One iteration
// takes about a minute on two cores.
func BenchmarkFashionMNIST(b *testing.B) {
	if _, err := os.Stat(dataset.DebianFashionDir); err != nil {
		b.Skip("Fashion-MNIST not found; install it with: apt-get install dataset-fashion-mnist")
	}
	cfg, err := parseFlags(flag.NewFlagSet("bench", flag.ContinueOnError), nil)
	require.NoError(b, err)
	for b.Loop() {
		res, err := runFashion(context.Background(), cfg, io.Discard)
		require.NoError(b, err)
		b.ReportMetric(res.after.PrecisionAtK, "P@10")
		b.ReportMetric(res.after.MAPAtR, "mAP@R")
		b.ReportMetric(res.train.Seconds(), "train-s")
	}
}
