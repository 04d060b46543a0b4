package ingest_test

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index/ingest"
	"github.com/shoalhq/shoal/index/memory"
)

const (
	killBatch       = 16
	killConcurrency = 4
)

// TestKillChild is the child process of TestKillAndResume: it runs the job
// over a persistent store and prints a line per encoder call.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("SHOAL_INGEST_CHILD_DIR")
	if dir == "" {
		t.Skip("run by TestKillAndResume")
	}
	n, err := strconv.Atoi(os.Getenv("SHOAL_INGEST_CHILD_N"))
	require.NoError(t, err)
	ctx := context.Background()
	s, err := memory.Open(ctx, filepath.Join(dir, "store"))
	require.NoError(t, err)
	enc := newEncoder(8)
	enc.latency = time.Millisecond
	enc.onCall = func(int) error { _, err := os.Stdout.Write([]byte("e\n")); return err }
	_, err = ingest.Run(ctx, enc, s, ns, embedding.Inputs(items(n, "v1")), ingest.WithBatchSize(killBatch),
		ingest.WithConcurrency(killConcurrency), ingest.WithCheckpoint(filepath.Join(dir, "checkpoint")))
	require.NoError(t, err)
	require.NoError(t, s.Close())
	fmt.Println("done")
}

// TestKillAndResume SIGKILLs a child process running a job at seeded
// points (after a random number of encoder calls), resumes it each time,
// and checks that the store ends up holding exactly the source and that
// the encoder was called at most items/batch + (window + 1) × kills + 1
// times, the window being the 2·concurrency batches in flight.
// SHOAL_INGEST_KILL_N=200000 SHOAL_INGEST_KILLS=20 runs the large version.
func TestKillAndResume(t *testing.T) {
	n, kills := 3000, 6
	if v := os.Getenv("SHOAL_INGEST_KILL_N"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err)
		kills = 20
	}
	if v := os.Getenv("SHOAL_INGEST_KILLS"); v != "" {
		var err error
		kills, err = strconv.Atoi(v)
		require.NoError(t, err)
	}
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(20, 26))
	total, killed := 0, 0
	ideal := (n + killBatch - 1) / killBatch
	for k := 0; k <= kills; k++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "SHOAL_INGEST_CHILD_DIR="+dir, "SHOAL_INGEST_CHILD_N="+strconv.Itoa(n))
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		cmd.Stderr = os.Stderr
		require.NoError(t, cmd.Start())
		at := -1 // kill after this many calls; the last run is not killed
		if k < kills {
			// Spread the kills over what is left, never at its very end.
			left := max(2, ideal-total+(2*killConcurrency+1)*killed)
			at = min(left-1, 1+rng.IntN(max(1, 2*left/(kills-k+1))))
		}
		calls, done := 0, false
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			switch sc.Text() {
			case "e":
				calls++
				if calls == at {
					require.NoError(t, cmd.Process.Kill()) // SIGKILL
					killed++
				}
			case "done":
				done = true
			}
		}
		err = cmd.Wait()
		total += calls
		if k == kills || done {
			require.NoError(t, err, "the last run completes")
			require.True(t, done)
			break
		}
	}
	s, err := memory.Open(context.Background(), filepath.Join(dir, "store"))
	require.NoError(t, err)
	defer s.Close()
	requireStoreHolds(t, s, ns, newEncoder(8), items(n, "v1"))
	window := 2 * killConcurrency
	bound := ideal + (window+1)*killed + 1
	t.Logf("kill-and-resume: %d items, %d kills, %d encoder calls (ideal %d, bound %d)", n, killed, total, ideal, bound)
	require.LessOrEqual(t, total, bound)
	require.NoFileExists(t, filepath.Join(dir, "checkpoint"))
}
