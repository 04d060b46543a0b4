// Package openai is an embedding.Encoder over OpenAI-compatible embedding
// servers — OpenAI and Azure OpenAI, and the self-hosted servers that speak
// the same POST /embeddings API: Ollama, vLLM, Hugging Face Text Embeddings
// Inference (TEI), Infinity, LocalAI — through the official client,
// github.com/openai/openai-go/v3.
//
// [NewEncoder] takes the server ([WithBaseURL]), the model ([WithModel])
// and, for OpenAI, the key from OPENAI_API_KEY. Vectors come back as base64
// of little-endian float32s by default ([WithEncodingFormat]; answers in
// JSON numbers are read too), at the model's length or the one asked for
// ([WithDimensions]). The server's limits are options with OpenAI's
// defaults — 2,048 inputs and 300,000 tokens per request, 8,192 tokens per
// input ([WithMaxInputs], [WithMaxRequestTokens], [WithMaxInputTokens]) —
// and Info() reports them, so embedding.EncodeAll batches within them, runs
// batches in parallel and retries what this package marks retryable. Other
// servers' limits: TEI takes 32 inputs per request (--max-client-batch-size)
// and, for BERT-class models, 512 tokens per input; Infinity 2,048 texts or
// 32 images; Ollama and vLLM are bounded by the model's context length.
//
// Tokens are counted with [CountTokens], OpenAI's cl100k_base (exact for
// its embedding models; it equals the API's usage.prompt_tokens), or with
// [EstimateTokens], an upper bound for the tokenizers of other models, or
// with the model's own ([WithTokenCounter]). An input over the per-input
// limit is an error naming it, or is cut at a word's end with
// [WithTruncate]; nothing is cut silently.
//
// Images ([WithImages]) travel as data: URIs (embedding.Input.Image, or
// Input.Decoded encoded as PNG) or http(s) URLs (Input.URI), in requests of
// their own with "modality": "image", as Infinity takes them for CLIP-class
// models.
//
// Package openaitest is an in-process fake of such a server, for tests.
//
// # Errors
//
// Inputs the encoder cannot send (empty, an image with images off, text and
// an image in one input, an unknown MIME type, over the token limit) wrap
// embedding.ErrInvalidInput and name the input by position and ID, before
// anything is sent. The server's answers map onto Shoal's sentinels:
//
//   - 429 → index.ErrResourceExhausted, retryable with the server's
//     Retry-After (or retry-after-ms) as the wait;
//   - 408, 5xx, a request past [WithRequestTimeout], a broken connection →
//     index.ErrUnavailable, retryable;
//   - 400, 413, 422 → embedding.ErrInvalidInput: the request is split in
//     halves until the input the server refuses is found and named;
//   - 401, 403 → index.ErrUnauthenticated, with a message that names the
//     server and never the key (the server's own message, which may quote
//     it, is left out);
//   - 404 → index.ErrNotFound (an unknown model);
//   - an answer with the wrong number of embeddings, an index missing,
//     repeated or out of range, or a vector of the wrong length →
//     embedding.ErrBadOutput, naming the input.
//
// The caller's own cancelled or expired context is returned as it is and
// never retried. Encode does not retry; the openai-go client's retries are
// turned off (option.WithMaxRetries(0)), so retries happen in one place,
// embedding.EncodeAll. Bad options wrap [ErrInvalidOption] (an
// embedding.ErrInvalidOption).
//
// # As
//
// The client's error stays reachable: errors.As(err, &apiErr) with
// *openai.Error (github.com/openai/openai-go/v3) gives the HTTP status, the
// server's message, type, code and param, and the response. Its message is
// the server's, unfiltered: for a 401 from OpenAI it quotes the key with its
// middle masked.
package openai
