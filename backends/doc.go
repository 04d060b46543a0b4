// Package backends groups Shoal's remote implementations of its interfaces,
// one folder each: vertex (Vertex AI encoders, batch prediction and training
// jobs), pinecone and milvus (index.VectorStore). Each imports only Shoal's
// public packages and its service's official client, and ships an in-process
// fake server (xxxtest) that speaks the real wire protocol. The backends are
// being built; until they land, the embedded defaults (embedding/local,
// index/memory) cover the whole flow on one machine.
package backends
