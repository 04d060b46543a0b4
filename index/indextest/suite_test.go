package indextest_test

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

// TestReferenceStore runs the suite against the reference store: a correct
// store passes every case.
func TestReferenceStore(t *testing.T) {
	t.Parallel()
	indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
		return newRefStore(cfg.Metric, bugNone)
	})
}

// TestApproximateReferenceStore runs the suite in recall mode against a
// reference store that misses one of the ten nearest records in large
// namespaces (recall@10 0.9, as an approximate index may): it passes with a
// target of 0.85 (and fails exact mode: see brokenStores).
func TestApproximateReferenceStore(t *testing.T) {
	t.Parallel()
	indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
		return newRefStore(cfg.Metric, bugLossy)
	}, indextest.WithRecall(0.85), indextest.WithRecallSize(1000))
}

// brokenEnv tells a re-executed test binary which bug to switch on, and
// recallEnv which recall target to run the suite with (exact when empty).
const (
	brokenEnv = "INDEXTEST_BROKEN_STORE"
	recallEnv = "INDEXTEST_BROKEN_RECALL"
)

// TestBrokenStore runs the suite against the reference store with the bug
// named in $INDEXTEST_BROKEN_STORE. It runs only in the subprocesses that
// TestSuiteCatchesBrokenStores starts.
func TestBrokenStore(t *testing.T) {
	b := bug(os.Getenv(brokenEnv))
	if b == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores with " + brokenEnv + " set")
	}
	opts := []indextest.Option{indextest.WithRecallSize(brokenRecallSize)}
	if r := os.Getenv(recallEnv); r != "" {
		target, err := strconv.ParseFloat(r, 64)
		require.NoError(t, err, recallEnv)
		opts = append(opts, indextest.WithRecall(target))
	}
	indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
		return newRefStore(cfg.Metric, b)
	}, opts...)
}

// brokenStores lists each deliberate bug with the cases that must catch it.
var brokenStores = []struct {
	bug   bug
	fails []string
}{
	{bugIgnoreFilter, []string{"FilterEq", "FilterNe", "FilterNested", "FilterMissingField", "ScanFilter", "QueryFilterBeforeTopK"}},
	{bugPostFilter, []string{"QueryFilterBeforeTopK"}},
	{bugEuclideanSign, []string{"QueryEuclideanScores", "QueryTopKLargerThanNamespace", "DeleteThenReinsert", "LargeBatch", "QueryMatchesBruteForce", "Recall"}},
	{bugUnsortedQuery, []string{"QueryCosineScores", "QueryDotProductScores", "QueryEuclideanScores", "QueryTopKTruncates", "QueryMatchesBruteForce", "Recall"}},
	{bugTopKOffByOne, []string{"QueryTopKTruncates", "QueryMatchesBruteForce", "Recall"}},
	{bugTopKUnchecked, []string{"QueryTopKInvalid"}},
	{bugDropVectors, []string{"QueryIncludeVectors", "UpsertFetchRoundTrip"}},
	{bugFetchMissing, []string{"FetchMissingIDs", "FetchMissingNamespace", "Delete", "DimensionMismatchInBatch", "InvalidMetadataTypes"}},
	{bugPartialWrite, []string{"DimensionMismatchInBatch", "DimensionMismatchWithNamespace", "InvalidVectorValues", "InvalidID", "DuplicateIDsInCall", "InvalidMetadataTypes", "InvalidMetadataKeys"}},
	{bugMergeMetadata, []string{"OverwriteReplaces", "OverwriteClearsMetadata"}},
	{bugAliasing, []string{"UpsertCopiesInput"}},
	{bugNoMetadataCheck, []string{"InvalidMetadataTypes", "InvalidMetadataKeys"}},
	{bugNoDimCheck, []string{"DimensionMismatchWithNamespace", "QueryInvalidVector"}},
	{bugAcceptsZeroCosine, []string{"CosineZeroVector"}},
	{bugStrictTypes, []string{"FilterNumberTypes", "FilterIn", "MetadataNumberConversions"}},
	{bugNeMatchesMissing, []string{"FilterNe", "FilterNotIn", "FilterMissingField"}},
	{bugDeleteNoop, []string{"Delete", "DeleteMissingIDs", "NamespaceIsolation", "DefaultNamespace", "Counter"}},
	{bugSharedNamespace, []string{"NamespaceIsolation", "FetchMissingNamespace", "QueryMissingNamespace", "ScanMissingNamespace", "Counter"}},
	{bugScanDuplicates, []string{"ScanCompleteness", "ScanFilter", "LargeBatch"}},
	{bugScanIgnoresBreak, []string{"ScanBreakEarly"}},
	{bugIgnoreContext, []string{"CancelledContext"}},
	{bugNoClose, []string{"Closed"}},
	{bugCloseTwiceErrors, []string{"Closed"}},
	{bugCountStale, []string{"Counter"}},
	{bugNilContext, []string{"BadArguments"}},
	{bugNamespacesTwice, []string{"Namespacer"}},
	// An exact store must reach recall 1.
	{bugLossy, []string{"Recall"}},
}

// recallBrokenStores lists the bugs of an approximate index, which only the
// cases with large namespaces see, with the cases that must catch them in
// recall mode (target 0.85): the recall must reach the target, the scores be
// exact, no deleted record be returned, and a moved record be found at its
// new place.
var recallBrokenStores = []struct {
	bug   bug
	fails []string
}{
	{bugDropBest, []string{"Recall"}},
	{bugGhostDeletes, []string{"Recall"}},
	{bugStaleMove, []string{"Recall"}},
	{bugEuclideanSign, []string{"Recall", "LargeBatch", "QueryMatchesBruteForce"}},
}

// brokenRecall is the recall target of recallBrokenStores' runs, and
// brokenRecallSize the size of the Recall case in every run of
// TestBrokenStore (large enough for the bugs that need a large namespace).
const (
	brokenRecall     = "0.85"
	brokenRecallSize = 600
)

// TestSuiteCatchesBrokenStores re-executes the test binary once per bug,
// running only the cases that must catch it, and checks that each of them
// fails. A control run with no bug over the same cases must pass, so the
// failures come from the bugs and not from the harness.
func TestSuiteCatchesBrokenStores(t *testing.T) {
	if os.Getenv(brokenEnv) != "" {
		t.Skip("inside a subprocess")
	}
	t.Parallel()
	exe, err := os.Executable()
	require.NoError(t, err)
	known := indextest.CaseNames()

	var all, allRecall []string
	for _, b := range brokenStores {
		for _, name := range b.fails {
			require.Contains(t, known, name, "bug %q names an unknown case", b.bug)
			if !slices.Contains(all, name) {
				all = append(all, name)
			}
		}
	}
	for _, b := range recallBrokenStores {
		for _, name := range b.fails {
			require.Contains(t, known, name, "bug %q names an unknown case", b.bug)
			if !slices.Contains(allRecall, name) {
				allRecall = append(allRecall, name)
			}
		}
	}
	// run runs cases against the store with bug b, in recall mode with
	// target recall unless it is "".
	run := func(t *testing.T, b bug, recall string, cases []string) (string, error) {
		pattern := "^TestBrokenStore$/^indextest$/^(" + strings.Join(cases, "|") + ")$"
		cmd := exec.CommandContext(t.Context(), exe, "-test.run="+pattern, "-test.v", "-test.count=1", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), brokenEnv+"="+string(b), recallEnv+"="+recall)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	for _, c := range []struct {
		name   string
		recall string
		cases  []string
	}{{"control", "", all}, {"control-recall", brokenRecall, allRecall}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			out, err := run(t, bugNone, c.recall, c.cases)
			require.NoError(t, err, "the reference store fails the selected cases:\n%s", out)
			for _, name := range c.cases {
				assert.Contains(t, out, "--- PASS: TestBrokenStore/indextest/"+name+" ", "case %s did not run", name)
			}
		})
	}
	brokenCases := brokenStores
	if raceEnabled {
		brokenCases = append(brokenCases, struct {
			bug   bug
			fails []string
		}{bugNoLock, []string{"ConcurrentReadersWriters"}})
	}
	check := func(t *testing.T, b bug, recall string, fails []string) {
		t.Parallel()
		out, err := run(t, b, recall, fails)
		var exitErr *exec.ExitError
		require.True(t, errors.As(err, &exitErr), "the suite passed a store with bug %q (err %v):\n%s", b, err, out)
		failed := failedCases(out)
		for _, name := range fails {
			assert.Contains(t, failed, name, "case %s did not catch bug %q:\n%s", name, b, out)
		}
	}
	for _, b := range brokenCases {
		t.Run(string(b.bug), func(t *testing.T) { check(t, b.bug, "", b.fails) })
	}
	for _, b := range recallBrokenStores {
		t.Run("recall-"+string(b.bug), func(t *testing.T) { check(t, b.bug, brokenRecall, b.fails) })
	}
}

var (
	failLine  = regexp.MustCompile(`--- FAIL: TestBrokenStore/indextest/([A-Za-z]+)[ /]`)
	runLine   = regexp.MustCompile(`=== RUN   TestBrokenStore/indextest/([A-Za-z]+)\n`)
	crashLine = regexp.MustCompile(`(?m)^(fatal error|panic): `)
)

// failedCases returns the names of the cases that failed in a -test.v
// output. When the process crashed (a bug such as a missing lock can end in
// "fatal error: concurrent map writes" rather than a failed test), every
// case that started and did not finish failed too.
func failedCases(out string) []string {
	var names []string
	for _, m := range failLine.FindAllStringSubmatch(out, -1) {
		names = append(names, m[1])
	}
	if crashLine.MatchString(out) {
		for _, m := range runLine.FindAllStringSubmatch(out, -1) {
			if !strings.Contains(out, "--- PASS: TestBrokenStore/indextest/"+m[1]+" ") &&
				!strings.Contains(out, "--- SKIP: TestBrokenStore/indextest/"+m[1]+" ") {
				names = append(names, m[1])
			}
		}
	}
	return names
}
