// Package backends groups Shoal's remote implementations of its interfaces,
// one folder each:
//
//   - vertex: embedding.Encoder over Vertex AI online prediction (publisher
//     embedding models and custom endpoints on TPU or GPU), a BatchEncoder
//     over batch prediction jobs, and a finetune.Trainer over custom
//     training jobs on TPU;
//   - pinecone: index.VectorStore on Pinecone;
//   - milvus: index.VectorStore on Milvus.
//
// Each imports only Shoal's public packages and its service's official
// client, and ships an in-process fake server (vertextest, pineconetest,
// milvustest) that speaks the real wire protocol on loopback, so code that
// uses a backend is tested without a cloud account. The stores pass the
// same conformance suite (index/indextest) as the embedded index/memory.
package backends
