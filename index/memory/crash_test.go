package memory_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/memory"
)

// crashDirEnv switches the test binary into the writer process of TestCrash.
const crashDirEnv = "SHOAL_MEMORY_CRASH_DIR"

// crashCompactEnv makes the writer process compact after every batch, so
// that most kills land in a compaction.
const crashCompactEnv = "SHOAL_MEMORY_CRASH_COMPACT"

// crashHNSWEnv makes the writer process keep an HNSW graph (saved in every
// snapshot), so that kills also land in graph inserts and graph sections.
const crashHNSWEnv = "SHOAL_MEMORY_CRASH_HNSW"

// crashOptions returns the options of the writer and of the reopened store.
func crashOptions(hnsw bool) []memory.Option {
	opts := []memory.Option{memory.WithMetric(index.Euclidean), memory.WithCompactionThreshold(crashCompactAt)}
	if hnsw {
		opts = append(opts, memory.WithHNSW(8, 32, 32), memory.WithHNSWThreshold(0))
	}
	return opts
}

const (
	crashBatch = 4
	crashDim   = 16
	// A small log threshold, so that kills also land during compactions.
	crashCompactAt = 48 << 10
)

// crashRecords returns batch b of the writer, deterministically.
func crashRecords(b int) []index.Record {
	rng := rand.New(rand.NewPCG(uint64(b), 42))
	recs := make([]index.Record, crashBatch)
	for i := range recs {
		v := make([]float32, crashDim)
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		recs[i] = index.Record{
			ID:     fmt.Sprintf("b%05d-%d", b, i),
			Vector: v,
			Metadata: index.Metadata{
				"batch": int64(b), "x": rng.Float64(), "name": fmt.Sprint("n", rng.Uint32()),
				"odd": b%2 == 1, "tags": []string{"t", strconv.Itoa(i)},
			},
		}
	}
	return recs
}

// crashDeletes reports which record the writer deletes after batch b, if any.
func crashDeletes(b int) (string, bool) {
	if b%5 != 4 {
		return "", false
	}
	return crashRecords(b - 2)[0].ID, true
}

// TestCrashHelper is the writer process of TestCrash: it upserts batches
// forever, printing a line only after each write was acknowledged, until the
// parent kills it.
func TestCrashHelper(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("the writer process of TestCrash; runs only when started by it")
	}
	ctx := context.Background()
	s, err := memory.Open(ctx, dir, crashOptions(os.Getenv(crashHNSWEnv) != "")...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(2)
	}
	out := bufio.NewWriter(os.Stdout)
	for b := 0; ; b++ {
		recs := crashRecords(b)
		if err := s.Upsert(ctx, "crash", recs); err != nil {
			fmt.Fprintln(os.Stderr, "upsert:", err)
			os.Exit(2)
		}
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		fmt.Fprintf(out, "upserted %d %s\n", b, strings.Join(ids, " "))
		_ = out.Flush()
		if os.Getenv(crashCompactEnv) != "" {
			if err := s.Compact(ctx); err != nil {
				fmt.Fprintln(os.Stderr, "compact:", err)
				os.Exit(2)
			}
		}
		if id, ok := crashDeletes(b); ok {
			if err := s.Delete(ctx, "crash", []string{id}); err != nil {
				fmt.Fprintln(os.Stderr, "delete:", err)
				os.Exit(2)
			}
			fmt.Fprintf(out, "deleted %s\n", id)
			_ = out.Flush()
		}
	}
}

// TestCrash runs a writer process, SIGKILLs it in mid-stream, and checks that
// every write it acknowledged is in the reopened store, exactly. In the
// "compacting" cases the writer compacts after every batch, so that the
// kill most likely lands in a compaction (TestCompactionFaultAtEveryStep
// stops a compaction at each of its steps in turn).
func TestCrash(t *testing.T) {
	if os.Getenv(crashDirEnv) != "" {
		t.Skip("in the writer process")
	}
	t.Parallel()
	for _, c := range []struct {
		killAfter        int
		compacting, hnsw bool
	}{
		{120, false, false}, {260, false, false}, {400, false, false}, {40, true, false}, {90, true, false},
		{150, false, true}, {60, true, true},
	} {
		name := fmt.Sprint("kill after ", c.killAfter)
		if c.compacting {
			name += " compacting"
		}
		if c.hnsw {
			name += " hnsw"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			crashOnce(t, c.killAfter, c.compacting, c.hnsw)
		})
	}
}

func crashOnce(t *testing.T, killAfter int, compacting, hnsw bool) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	if compacting {
		cmd.Env = append(cmd.Env, crashCompactEnv+"=1")
	}
	if hnsw {
		cmd.Env = append(cmd.Env, crashHNSWEnv+"=1")
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	acked := map[int]bool{}        // batches whose Upsert returned nil
	deleted := map[string]bool{}   // records whose Delete returned nil
	lastBatch, killed := -1, false // highest acknowledged batch
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		switch {
		case len(f) == 2+crashBatch && f[0] == "upserted":
			b, err := strconv.Atoi(f[1])
			require.NoError(t, err)
			acked[b] = true
			lastBatch = max(lastBatch, b)
		case len(f) == 2 && f[0] == "deleted":
			deleted[f[1]] = true
		default:
			// Test framework output or a line cut by the kill; acks are
			// whole lines, flushed one by one.
			continue
		}
		if !killed && len(acked) >= killAfter {
			// Lines already in the pipe still count as acknowledged.
			require.NoError(t, cmd.Process.Kill())
			killed = true
		}
	}
	err = cmd.Wait()
	require.True(t, killed, "writer stopped after %d acks: %v\n%s", len(acked), err, stderr.String())
	require.Error(t, err, "the writer was killed")
	require.GreaterOrEqual(t, len(acked), killAfter)

	s, err := memory.Open(t.Context(), dir, crashOptions(hnsw)...)
	require.NoError(t, err, "reopen after the crash")
	defer s.Close()
	for b := 0; b <= lastBatch; b++ {
		require.True(t, acked[b], "batch %d acknowledged out of order", b)
		recs := crashRecords(b)
		ids := make([]string, len(recs))
		for i, r := range recs {
			ids[i] = r.ID
		}
		got, err := s.Fetch(t.Context(), "crash", ids)
		require.NoError(t, err)
		gotByID := map[string]index.Record{}
		for _, r := range got {
			gotByID[r.ID] = r
		}
		for _, want := range recs {
			g, ok := gotByID[want.ID]
			switch {
			case deleted[want.ID]:
				assert.False(t, ok, "acknowledged delete of %q lost", want.ID)
			case inFlightDelete(want.ID, lastBatch, deleted):
				// Its Delete may have been running when the kill came.
			default:
				if assert.True(t, ok, "acknowledged record %q (batch %d of %d) lost", want.ID, b, lastBatch) {
					assert.Equal(t, want, g, "record %q", want.ID)
				}
				if hnsw { // the graph finds each record at its own vector
					m, err := s.Query(t.Context(), index.Query{Namespace: "crash", Vector: want.Vector, TopK: 1})
					require.NoError(t, err)
					if assert.Len(t, m, 1) {
						assert.Zero(t, m[0].Score, "query for %q found %q", want.ID, m[0].ID)
					}
				}
			}
		}
	}
	// Nothing beyond the one batch that may have been in flight.
	n, err := s.Count(t.Context(), "crash")
	require.NoError(t, err)
	assert.LessOrEqual(t, n, (lastBatch+2)*crashBatch)
	// The reopened store takes writes and keeps them.
	require.NoError(t, s.Upsert(t.Context(), "crash", crashRecords(lastBatch+100)))
	t.Logf("killed after %d acknowledged batches, %d deletes; %d records recovered", len(acked), len(deleted), n)
}

// inFlightDelete reports whether id is the target of a Delete that the writer
// may have started but not acknowledged: the one after the last batch.
func inFlightDelete(id string, lastBatch int, deleted map[string]bool) bool {
	target, ok := crashDeletes(lastBatch)
	return ok && target == id && !deleted[id]
}
