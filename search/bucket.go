package search

import (
	"fmt"
	"strings"

	"github.com/shoalhq/shoal/embedding"
	"github.com/shoalhq/shoal/index/driver"
)

// Example is one positive or negative example of a [Bucket], in exactly one
// of three forms: the ID of a record stored in the Searcher's namespace
// (its vector is fetched), a vector of the namespace's space, or a raw input
// that the Searcher's encoder embeds. Build one with [ByID], [ByVector] or
// [ByInput].
type Example struct {
	// ID names a record of the Searcher's namespace.
	ID string
	// Vector is a vector of the namespace's dimension.
	Vector []float32
	// Input is embedded with the Searcher's encoder (see [WithEncoder]).
	Input *embedding.Input
}

// ByID returns an example given by the ID of a stored record. Its vector is
// fetched from the Searcher's namespace, and by default the record itself is
// left out of the results (see [WithIncludeBucket]).
func ByID(id string) Example { return Example{ID: id} }

// ByVector returns an example given by its vector. The slice is not
// modified.
func ByVector(v []float32) Example { return Example{Vector: v} }

// ByInput returns an example given by a raw input (text, image bytes, URI),
// embedded with the Searcher's encoder at search time.
func ByInput(in embedding.Input) Example { return Example{Input: &in} }

// form returns "id", "vector" or "input" and how many forms e sets.
func (e Example) form() (string, int) {
	n, f := 0, ""
	if e.ID != "" {
		n, f = n+1, "id"
	}
	if e.Vector != nil {
		n, f = n+1, "vector"
	}
	if e.Input != nil {
		n, f = n+1, "input"
	}
	return f, n
}

// describe names an example in errors: `positive 2 (id "x")`.
func (e Example) describe(role string, i int) string {
	f, _ := e.form()
	switch f {
	case "id":
		return fmt.Sprintf("%s %d (id %q)", role, i, e.ID)
	case "input":
		if e.Input.ID != "" {
			return fmt.Sprintf("%s %d (input %q)", role, i, e.Input.ID)
		}
		return fmt.Sprintf("%s %d (input)", role, i)
	}
	return fmt.Sprintf("%s %d (%s)", role, i, f)
}

func (e Example) validate(role string, i int) error {
	f, n := e.form()
	if n != 1 {
		return errorf(nil, "%w: %s %d sets %d of ID, Vector and Input; want exactly one", ErrInvalidBucket, role, i, n)
	}
	switch f {
	case "id":
		if err := driver.ValidateID(e.ID); err != nil {
			return errorf(nil, "%w: %s: %w", ErrInvalidBucket, e.describe(role, i), err)
		}
	case "vector":
		if err := driver.ValidateVector(e.Vector, 0); err != nil {
			return errorf(nil, "%w: %s: %w", ErrInvalidBucket, e.describe(role, i), err)
		}
	}
	return nil
}

// Bucket describes what to look for: items like the positives and unlike
// the negatives.
type Bucket struct {
	// Positives are examples of what is wanted; at least one.
	Positives []Example
	// Negatives are examples of what is not wanted; optional.
	Negatives []Example
}

// Validate checks the bucket on its own (without a store or encoder): at
// least one positive; each example in exactly one form, with a valid ID or
// a non-empty finite vector; no stored ID both positive and negative. The
// error wraps [ErrInvalidBucket] and names the example.
func (b Bucket) Validate() error {
	if len(b.Positives) == 0 {
		return errorf(nil, "%w: no positive example", ErrInvalidBucket)
	}
	posIDs := make(map[string]int)
	for i, e := range b.Positives {
		if err := e.validate("positive", i); err != nil {
			return err
		}
		if e.ID != "" {
			if _, dup := posIDs[e.ID]; !dup {
				posIDs[e.ID] = i
			}
		}
	}
	for i, e := range b.Negatives {
		if err := e.validate("negative", i); err != nil {
			return err
		}
		if j, both := posIDs[e.ID]; both && e.ID != "" {
			return errorf(nil, "%w: %s is also positive %d", ErrInvalidBucket, e.describe("negative", i), j)
		}
	}
	return nil
}

// Aggregation is how a bucket's positives are combined into one ranking.
type Aggregation int

const (
	// Mean searches once with the mean of the positives (normalised first
	// under Cosine and DotProduct), moved away from the mean of the
	// negatives Rocchio-style: q = p̄ − w·n̄ for Cosine and DotProduct, and
	// q = (p̄ − w·n̄)/(1 − w) for Euclidean, whose ranking is that of
	// −‖x−p̄‖² + w·‖x−n̄‖². Fast (one query) and good for a compact bucket;
	// a bucket spanning separate clusters may land between them.
	Mean Aggregation = iota
	// Max scores an item by its greatest similarity to any positive, with
	// one query per positive and the candidates merged. It retrieves from
	// every cluster a bucket spans.
	Max
	// RRF fuses the per-positive result lists by reciprocal rank:
	// score = Σ 1/(k + rank), k = 60 by default (see [WithRRFConstant]). Robust
	// to positives whose similarity scales differ.
	RRF
)

// String returns "mean", "max" or "rrf".
func (a Aggregation) String() string {
	switch a {
	case Mean:
		return "mean"
	case Max:
		return "max"
	case RRF:
		return "rrf"
	}
	return fmt.Sprintf("Aggregation(%d)", int(a))
}

// Valid reports whether a is Mean, Max or RRF.
func (a Aggregation) Valid() bool { return a == Mean || a == Max || a == RRF }

// ParseAggregation parses the names String returns ("mean", "max", "rrf"),
// ignoring case.
func ParseAggregation(s string) (Aggregation, error) {
	for _, a := range []Aggregation{Mean, Max, RRF} {
		if strings.EqualFold(s, a.String()) {
			return a, nil
		}
	}
	return 0, errorf(ErrInvalidOption, "unknown aggregation %q (want mean, max or rrf)", s)
}
