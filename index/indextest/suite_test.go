package indextest_test

import (
	"errors"
	"os"
	"os/exec"
	"regexp"
	"slices"
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

// brokenEnv tells a re-executed test binary which bug to switch on.
const brokenEnv = "INDEXTEST_BROKEN_STORE"

// TestBrokenStore runs the suite against the reference store with the bug
// named in $INDEXTEST_BROKEN_STORE. It runs only in the subprocesses that
// TestSuiteCatchesBrokenStores starts.
func TestBrokenStore(t *testing.T) {
	b := bug(os.Getenv(brokenEnv))
	if b == "" {
		t.Skip("run by TestSuiteCatchesBrokenStores with " + brokenEnv + " set")
	}
	indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
		return newRefStore(cfg.Metric, b)
	})
}

// brokenStores lists each deliberate bug with the cases that must catch it.
var brokenStores = []struct {
	bug   bug
	fails []string
}{
	{bugIgnoreFilter, []string{"FilterEq", "FilterNe", "FilterNested", "FilterMissingField", "ScanFilter", "QueryFilterBeforeTopK"}},
	{bugPostFilter, []string{"QueryFilterBeforeTopK"}},
	{bugEuclideanSign, []string{"QueryEuclideanScores", "QueryTopKLargerThanNamespace", "DeleteThenReinsert", "LargeBatch", "QueryMatchesBruteForce"}},
	{bugUnsortedQuery, []string{"QueryCosineScores", "QueryDotProductScores", "QueryEuclideanScores", "QueryTopKTruncates", "QueryMatchesBruteForce"}},
	{bugTopKOffByOne, []string{"QueryTopKTruncates", "QueryMatchesBruteForce"}},
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
}

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

	var all []string
	for _, b := range brokenStores {
		for _, name := range b.fails {
			require.Contains(t, known, name, "bug %q names an unknown case", b.bug)
			if !slices.Contains(all, name) {
				all = append(all, name)
			}
		}
	}
	run := func(t *testing.T, b bug, cases []string) (string, error) {
		pattern := "^TestBrokenStore$/^indextest$/^(" + strings.Join(cases, "|") + ")$"
		cmd := exec.CommandContext(t.Context(), exe, "-test.run="+pattern, "-test.v", "-test.count=1", "-test.timeout=2m")
		cmd.Env = append(os.Environ(), brokenEnv+"="+string(b))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	t.Run("control", func(t *testing.T) {
		t.Parallel()
		out, err := run(t, bugNone, all)
		require.NoError(t, err, "the reference store fails the selected cases:\n%s", out)
		for _, name := range all {
			assert.Contains(t, out, "--- PASS: TestBrokenStore/indextest/"+name+" ", "case %s did not run", name)
		}
	})
	brokenCases := brokenStores
	if raceEnabled {
		brokenCases = append(brokenCases, struct {
			bug   bug
			fails []string
		}{bugNoLock, []string{"ConcurrentReadersWriters"}})
	}
	for _, b := range brokenCases {
		t.Run(string(b.bug), func(t *testing.T) {
			t.Parallel()
			out, err := run(t, b.bug, b.fails)
			var exitErr *exec.ExitError
			require.True(t, errors.As(err, &exitErr), "the suite passed a store with bug %q (err %v):\n%s", b.bug, err, out)
			failed := failedCases(out)
			for _, name := range b.fails {
				assert.Contains(t, failed, name, "case %s did not catch bug %q:\n%s", name, b.bug, out)
			}
		})
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
