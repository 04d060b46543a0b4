// Package feedback turns a user's "relevant" / "not relevant" marks into a
// small classifier that re-ranks a pool, round after round, until nearly
// every result is what the user is after; the relevant items then go off
// to labeling.
//
// A [Session] holds a bucket of query examples (a search.Bucket), the marks
// and the rounds:
//
//	s, err := feedback.NewSession(store, "pool", bucket)
//	for round := 0; round < 4; round++ {
//		res, err := s.Results(ctx, 20) // the next 20 unseen items
//		... show them, collect marks ...
//		err = s.MarkAll(ctx, marks...) // or s.Mark(ctx, id, relevant)
//	}
//	for _, r := range s.Rounds() {
//		fmt.Println(r.Index, r.Strategy, r.Precision())
//	}
//
// Round 0 (and any round before the first mark) ranks by plain similarity
// to the bucket, through package search. Every later round fits a
// [Reranker] on the marks so far (the bucket's positives count as
// relevant, its negatives as not relevant, plus the reliable negatives of a
// background sample of the pool, see [WithBackground]) and ranks the unseen
// pool with it. [Session.Suggest] offers, apart from the rounds, the unseen
// items the reranker is least sure about: marking them teaches it most.
// [Session.Save] and [Resume] keep a session across processes, as
// versioned JSON.
//
// # Rerankers
//
// [Logistic], the default, is L2-regularised, class-balanced logistic
// regression fitted by a truncated Newton method (milliseconds for
// hundreds of marks); [Rocchio] is the nearest-centroid baseline; [Hybrid]
// adds to the logistic score a nearest-neighbour margin that follows the
// marks locally, for targets that are small islands among similar items
// (it is not linear, so it costs a matrix product per scored batch). Any type
// implementing [Reranker] can be plugged in with [WithReranker]; one that
// also implements [LinearReranker] (both of these do) lets the session
// query the store with its weight vector.
//
// # Retrieval
//
// A session works through the public index.VectorStore interface only, so
// it runs on every store. When the namespace holds at most
// [WithScanThreshold] records, a round reads the whole unseen pool through
// Scan and scores every record exactly. A larger pool is served by store
// queries: a linear reranker's weight vector w is itself a query (under
// Cosine with unit-length vectors, and under DotProduct, the store's
// ranking by w is exactly the reranker's ranking by w·x + b), which gathers
// [WithCandidates] unseen items that are then re-scored exactly; a blended
// round, Suggest, and a reranker that is not linear also gather the items
// most similar to the bucket. Under Euclidean the query is w scaled up
// so that the store ranks by w·x up to the vectors' norms, and re-scoring
// puts the candidates in exact order.
//
// # Guarding against harmful feedback
//
// Feedback can make results worse than none (Moll et al., "SeeSaw:
// interactive ad-hoc search over image databases", 2022): a classifier
// fitted on a few marks near the query can rank an unrelated region of the
// pool highest. Two defences: the background sample anchors the classifier
// to the pool as a whole, and a guard checks each round. The guard compares,
// on the marked items outside the bucket, the reranker's cross-validated
// scores (5 folds, stratified) with the plain bucket similarity, by AUC
// (the chance that a relevant mark outranks a not-relevant one). If the
// reranker is better, the round ranks by it (Classifier). If it is not, the
// round ranks by both, fused by reciprocal rank (Blend), unless it trails
// by more than τ, the larger of [WithGuardMargin] and the AUC's standard
// error on the round's counts, in which case the round falls back to the
// similarity (Similarity). Until there are 3 marks of each class outside
// the bucket there is nothing reliable to compare on: with fewer than 3
// relevant ones the similarity is failing and the reranker ranks alone;
// with fewer than 3 not-relevant ones the similarity is doing well and the
// round blends both, as a hedge (the two rankings rarely err on the same
// items). Each [Round] reports the strategy, the two AUCs and the reason.
//
// On Fashion-MNIST (examples/feedbackbench) the background sample matters
// most: without it the first feedback round falls from 0.73 to 0.53
// average precision (a classifier fitted on the marks of the similarity's
// own top looks better than the similarity on those marks, so the guard
// cannot tell); with it, round 1 reaches 0.93. The guard catches a reranker
// that contradicts the marks (see the tests).
//
// # Options and metric
//
// [NewSession] and [Resume] take the same [Option]s, each named With… and
// documenting its default; a bad value is an error naming the option. The
// session scores with the store's own metric, which it asks through
// [index.StoreMetric]; [WithMetric] is needed only for a store that does
// not report one (then index.Cosine is assumed), and contradicting the
// store's metric is an error naming both.
//
// # Reproducibility
//
// The same bucket, marks, options and pool give the same rounds on every
// run and every store, whatever order the store holds or scans the
// records in: the background sample is the records of smallest seeded
// hash of their ID (see [WithBackground]), kept in ID order, and every
// ranking breaks ties by ID. A resumed session reuses the saved sample.
//
// # Edge cases
//
//   - Marks on IDs the namespace does not hold are refused, all or
//     nothing ([ErrUnknownID], naming each).
//   - Marking an ID again replaces its mark: the last mark wins, within one
//     MarkAll call and across calls, and the rounds' counts follow it.
//   - A bucket may name one item several times (it then weighs more);
//     exact duplicates of it in the pool rank first, in ID order, and the
//     bucket's own items are never shown.
//   - Marks of one class only are valid: with only relevant marks the
//     rounds blend the reranker with the similarity, with only not-relevant
//     ones they rank by the reranker (see the guard above).
//   - When the unseen pool runs out, Results returns fewer than k items,
//     then none, without error; so does a namespace that is empty.
//
// # Metrics
//
// Each [Round] records the items shown and, as marks arrive, how many were
// marked and marked relevant; [Round.Precision] is the fresh precision of
// the round: relevant / marked among its own results.
//
// # Errors
//
// Error texts name the package once, then the item and the reason
// ("feedback: WithCandidates: 0 out of range [1, 10000]"); they wrap
// sentinels, so test them with errors.Is:
//   - [ErrUnknownID] (and index.ErrNotFound): a mark on an ID the namespace
//     does not hold, or a resumed mark whose record is gone; the message
//     names every such ID.
//   - [ErrInvalidOption] (and index.ErrInvalidArgument): a bad option, a
//     WithMetric that contradicts the store's, a nil store, a bad k or n,
//     or a bad Logistic field.
//   - index.ErrInvalidArgument: a nil context, or a nil reader given to
//     Resume.
//   - [ErrInvalidMarks] (and index.ErrInvalidArgument): vectors a
//     reranker cannot fit (none, of different lengths, or NaN/Inf).
//   - [ErrBadSession]: data given to Resume that is not a saved session,
//     is of another version, or is inconsistent.
//   - index.ErrInvalidID for a malformed ID given to Mark, the errors of
//     package search (search.ErrInvalidBucket for a bad bucket,
//     search.ErrNoEncoder, index.ErrNotFound for a bucket ID missing from
//     the namespace, index.ErrDimension), store errors, and ctx's error
//     once it is done.
package feedback
