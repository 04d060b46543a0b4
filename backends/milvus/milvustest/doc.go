// Package milvustest is an in-process fake Milvus server for tests: a
// gRPC server on 127.0.0.1 implementing milvuspb.MilvusServiceServer, which
// the official Go SDK (and so backends/milvus) talks to over the real wire
// protocol. Rows are stored in index/memory; boolean expressions are
// evaluated by a small parser ([ParseExpr]) that rejects anything outside
// the subset it understands.
//
// Fault injection: [WithLatency] (per call), [WithFailureRate] (transient
// rate-limit statuses, half of the write failures after the write was
// applied), [WithFailAfter] (every data call after N fails with a chosen
// code), [WithObserver] (sees every request), [WithToken] (requires
// credentials). [Server.Rows] exposes a collection's contents so tests can
// check that nothing was lost or duplicated.
//
// Differences from Milvus: writes are visible at once (every consistency
// level behaves as Strong); Insert replaces an existing primary key instead
// of adding a duplicate; indexes are exact (no approximation); rows are
// limited to index/memory's metadata size (about 40 KB of scalar and JSON
// fields per row); one float vector field per collection.
//
// # Errors
//
// Failures are reported as Milvus does, in the reply's Status (never as a
// nil Status), with merr codes such as [CodeRateLimit] and
// [CodeCollectionNotFound]; transport errors only for a cancelled call.
package milvustest
