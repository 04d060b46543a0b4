package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/backends/openai"
)

func TestRunFake(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	cfg := config{model: openai.DefaultModel, dimensions: 64, k: 3, maxInputs: 4, maxInputTokens: 8192, conc: 2,
		fake: true, query: "hiking boots for trails"}
	require.NoError(t, run(context.Background(), cfg, &out))
	s := out.String()
	assert.Contains(t, s, "model text-embedding-3-small/64: 64 dimensions, 4 inputs per request")
	assert.Contains(t, s, "indexed 10 texts")
	// The fake's vectors are sums of word vectors: the text sharing the
	// most words with the query comes first.
	assert.Regexp(t, `  1\. footwear\s+0\.\d+  waterproof hiking boots for rocky trails`, s)
	assert.Equal(t, 3+3, strings.Count(s, "\n"), s)
}

func TestRunNeedsKeyForOpenAI(t *testing.T) {
	t.Setenv("OPENAI_API_KEY", "")
	t.Setenv("OPENAI_BASE_URL", "")
	err := run(context.Background(), config{model: openai.DefaultModel, k: 1, maxInputs: 1, maxInputTokens: 1, conc: 1}, &bytes.Buffer{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OPENAI_API_KEY")
}

// -finetune trains an adapter over the served model (here the fake) and the
// held-out metrics improve.
func TestRunFakeFineTune(t *testing.T) {
	t.Parallel()
	var out bytes.Buffer
	cfg := config{model: openai.DefaultModel, dimensions: 64, k: 3, maxInputs: 64, maxInputTokens: 8192, conc: 2,
		fake: true, finetune: true, query: "boots"}
	require.NoError(t, run(context.Background(), cfg, &out))
	var before, after, mapBefore, mapAfter float64
	var line string
	for _, l := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(l, "fine-tuned ") {
			line = l
		}
	}
	require.NotEmpty(t, line, out.String())
	_, err := fmt.Sscanf(line[strings.Index(line, "precision@"):], "precision@10 %f -> %f, mAP@R %f -> %f", &before, &after, &mapBefore, &mapAfter)
	require.NoError(t, err, line)
	assert.Greater(t, after, before+0.2, line)
	assert.Greater(t, mapAfter, mapBefore+0.2, line)
}
