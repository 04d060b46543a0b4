// Package feedback will turn a user's relevant / not-relevant marks into a
// small classifier that re-ranks a pool, round after round. It is not built
// yet; the relevance-feedback issue adds the Reranker interface and Session.
// Until then, package search answers a bucket of examples with one ranking.
package feedback
