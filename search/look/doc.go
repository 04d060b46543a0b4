// Package look shows teams what is in an embedding space: 2-D maps of it,
// the rare items worth labeling, near-duplicates and leaks between splits,
// and the regions where a model fails. It works on every
// [index.VectorStore] through the public interface alone (Scan, and Query
// when asked), so the same code runs on index/memory, Pinecone and Milvus.
//
// It is a sub-package of search rather than part of it because it pulls in
// gonum/plot and HTML rendering, which plain search users should not have
// to import.
//
//	sp, err := look.Load(ctx, store, "fashion-v3", look.WithFilter(index.Eq("split", "unlabeled")))
//	rare, err := sp.Rarest(ctx, look.WithK(10), look.WithTop(20))
//	dups, err := sp.Duplicates(ctx, 0.002, look.WithAcross("split", "train", "test"))
//	clusters, err := sp.ErrorClusters(ctx, "pred", "label")
//	m, err := sp.Map(ctx, look.Neighborhood)
//	err = m.WritePNG(f, look.WithColorBy("label"))
//	err = m.WriteHTML(g, look.WithThumbnails(thumb))
//
// # Options
//
// The calls share one [Option] type, and [Map.WritePNG] and [Map.WriteHTML]
// one [PlotOption] type. Each option documents its default and the calls
// that read it; an option given to a call that does not read it is an
// error naming the option and the call (WithK given to Load, say), never
// silently ignored.
//
// # Spaces and sampling
//
// [Load] streams a namespace (or the part a filter matches) into a
// [Space] held in memory: IDs, float32 vectors in one slab (normalised under
// cosine), and metadata ([WithFields] keeps only some). A pool larger than
// [WithMaxItems] is sampled uniformly in the same pass (reservoir
// sampling), so memory is bounded whatever the pool's size; 1,000,000 ×
// 128-d vectors take 512 MiB. [FromRecords] builds a Space from records
// already in hand. [Space.Item] returns one item by its index.
//
// Load measures distances with the store's own metric, asked through
// [index.StoreMetric]; [WithMetric] is needed only for a store that does
// not report its metric (then index.Cosine is assumed) and for
// FromRecords, and contradicting the store's metric is an error naming
// both.
//
// # Distances
//
// Every result uses one distance per metric ([Space.Distance]): 1 − cosine
// similarity under index.Cosine, the Euclidean distance under
// index.Euclidean, and the negated dot product under index.DotProduct.
//
// # Neighbours
//
// Rarity and the neighbour layout need each item's k nearest neighbours
// ([Space.Neighbors]). In memory they are computed exactly up to
// [WithExactLimit] items (default 50,000) by blocked matrix products with
// the AVX2 GEMM of internal/vecmath, and approximately beyond with an
// inverted file (k-means lists, each item compared with the items of its
// [WithApproximate] nearest lists, GEMM within lists). On 1,000,000 ×
// 128-d clustered vectors on two cores the approximate graph takes about 25
// s with recall@10 of 0.999 against exact on 1,000 items. [WithStoreQueries]
// instead asks the store, one Query per item, [WithConcurrency] at once.
//
// # Rarity
//
// An item's rarity is the weighted mean distance to its k nearest
// neighbours ([WithWeights]; equal weights by default). An isolated item
// and the members of a small far-away cluster (smaller than k) score high.
// [Space.Rarest] returns the top ones.
//
// # Duplicates
//
// [Space.Duplicates] returns every pair within a distance threshold
// (exactly, up to the exact limit), or only pairs across two values of a
// field ([WithAcross]) — train items that reappear in the test split.
//
// # Where a model fails
//
// [Space.ErrorClusters] clusters the items that carry a prediction and a
// label (k-means++, seeded) and ranks the clusters by the lower bound of the
// 95% Wilson interval of their error rate, which weighs rate against size:
// a large cluster with a high error rate first, a tiny one with a few
// errors below it. Each cluster lists its most frequent confusions and the
// misclassified items nearest its centre.
//
// # Maps
//
// [Space.Map] projects to 2-D with [PCA] or [Neighborhood] (a UMAP-style
// layout: fuzzy kNN graph, SGD with negative sampling, PCA start; seeded
// and deterministic). [Map.Quality] reports trustworthiness and kNN
// preservation. [Map.WritePNG] draws a gonum/plot scatter with axes and a
// legend; [Map.WriteHTML] writes one self-contained page (no external
// resources) with hover tooltips (ID, label, metadata, thumbnail), a
// colour-by-field selector, zoom and a legend. On the shipped Fashion-MNIST
// sample (10,000 × 784-d pixels) the neighbourhood map's trustworthiness at
// k = 10 is 0.96 and PCA's 0.87.
//
// # Errors
//
// Error texts name the package once, then the item and the reason
// ("look: WithK does not apply to Load"); they wrap sentinels, so test
// them with errors.Is:
//   - [ErrInvalidOption] (wrapping index.ErrInvalidArgument): an option or
//     argument out of range, an option given to a call that does not read
//     it, a WithMetric that contradicts the store's, a bad filter (also
//     index.ErrInvalidFilter), a thumbnail that is not a data:image/ URI.
//   - index.ErrInvalidArgument: a nil context, or an item index out of
//     range (Space.Item, Space.Distance, Graph.Neighbors).
//   - [ErrTooFew]: too few items for the analysis (a kNN graph needs more
//     than k items).
//   - [ErrNoStore] (wrapping index.ErrInvalidArgument): [WithStoreQueries]
//     on a space not made by Load.
//   - An [*index.ItemError] naming the record, wrapping
//     index.ErrDimension or index.ErrInvalidVector (NaN, ±Inf, or a zero
//     vector under cosine), or index.ErrInvalidID for an ID given twice to
//     FromRecords.
//   - Store errors from Scan and Query, wrapped with the namespace or the
//     item; a retryable store error stays retryable (index.IsRetryable).
//   - The context's error once it is done.
//
// Every function and method is safe for concurrent use; a Space is
// read-only after it is built.
package look
