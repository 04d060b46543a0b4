// Package openaitest is an in-process fake of an OpenAI-compatible
// embeddings server (POST /v1/embeddings), speaking the real wire format
// on 127.0.0.1, so that code built on backends/openai — or on the
// openai-go client directly — is tested without an account or a network.
//
// It answers as OpenAI's API reference says
// (https://platform.openai.com/docs/api-reference/embeddings/create): input
// as a string, an array of strings or token arrays; encoding_format float
// (JSON numbers) or base64 (little-endian float32s); dimensions for the
// models that take it; usage.prompt_tokens counted with cl100k_base, the
// tokenizer of OpenAI's embedding models; OpenAI's limits (2,048 inputs,
// 300,000 tokens per request, 8,192 per input, settable with
// [WithLimits]) and its error bodies ({"error": {"message", "type",
// "param", "code"}}) and statuses: 400 for invalid requests, 401 for a
// missing or wrong key ([WithAPIKey]), 404 for an unknown model, 429 for
// rate limits. With [WithImages] it also takes Infinity's image requests
// ("modality": "image", inputs as data: URIs or URLs, 422 for anything
// else). Each rule names its source in a comment.
//
// Vectors are deterministic: an input's vector is [Vector](input, dim), a
// sum of per-word random vectors, so texts that share words are near each
// other and tests can compute what they expect.
//
// Fault injection: latency per request ([Server.SetLatency]), the next n
// requests failing with any status and Retry-After ([Server.FailNext]),
// every request after the first n failing ([Server.FailAfter]), a rate
// limit answering 429 with the time left in its window
// ([Server.SetRateLimit]), answers broken on demand ([Server.Malform]),
// and an observer of every request ([Server.OnRequest]).
//
// # Errors
//
// NewServer reports an unusable option. Everything else the fake has to
// say it says over HTTP, as the real server would.
package openaitest
