package rules

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// TextEmbeddingsDoc is the source of the online request limits of the
// text-embedding models: "Get text embeddings", API limits: "For each
// request, you're limited to 250 input texts ... The API has a maximum
// input token limit of 20,000. Inputs exceeding this limit result in a 400
// error. Each individual input text is further limited to 2,048 tokens;
// any excess is silently truncated" (unless autoTruncate is false).
const TextEmbeddingsDoc = "https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings#api_limits"

// Limits of TextEmbeddingsDoc.
const (
	MaxTextInstances = 250
	MaxRequestTokens = 20000
	MaxTextTokens    = 2048
)

// TokensPerInstance is the margin EstimateTokens' callers add for each
// instance of a request, for the markers a tokenizer adds around a text
// (SentencePiece's leading "▁", begin/end tokens).
const TokensPerInstance = 2

// tokenLimitFormat is the service's answer (InvalidArgument) to a request
// over MaxRequestTokens, as reported with text-embedding-004 in
// https://github.com/onyx-dot-app/onyx/issues/3972. The count is of the
// texts before truncation (109,362 there), so truncation does not help.
const tokenLimitFormat = "Unable to submit request because the input token count is %d but the model supports up to %d. Reduce the input token count and try again. You can also use the CountTokens API to calculate prompt token count and billable characters."

// TokenLimitMessage is the service's message for a request of tokens
// input tokens over limit (MaxRequestTokens).
func TokenLimitMessage(tokens, limit int) string {
	return fmt.Sprintf(tokenLimitFormat, tokens, limit)
}

// IsTokenLimitMessage reports whether msg is the service's answer to a
// request over the token limit.
func IsTokenLimitMessage(msg string) bool {
	return strings.Contains(msg, "input token count is") && strings.Contains(msg, "supports up to")
}

// EstimateTokens returns a conservative count of the tokens text takes:
//
//   - a run of n ASCII letters counts ceil(n/2) (English averages about
//     four letters per token; two is the rate of random letter strings
//     such as IDs);
//   - a single space before an ASCII letter counts 0 (it joins the word's
//     token, "▁word"); any other ASCII character, digits and punctuation
//     included, counts 1 (digits are split one per token);
//   - any other character counts one token per UTF-8 byte: 2 for Latin-1,
//     Greek or Cyrillic letters, 3 for CJK, 4 for emoji, the byte-fallback
//     worst case of rare scripts; an invalid byte counts 1.
//
// The estimate never exceeds len(text), and it bounds from above what a
// byte-fallback tokenizer (SentencePiece, byte-level BPE) can produce for
// digits, CJK, emoji and rare scripts, which run over one token per three
// bytes; only text made to defeat the letter rule (long runs of rare
// letter pairs) can exceed it, and for that the encoder splits a request
// the service refuses. The fake (vertextest) counts the same way, so a
// request the fake accepts is one the service accepts.
func EstimateTokens(text string) int {
	n, letters := 0, 0
	for i := 0; i < len(text); {
		c := text[i]
		if isASCIILetter(c) {
			letters++
			i++
			continue
		}
		n += (letters + 1) / 2
		letters = 0
		switch {
		case c == ' ' && i+1 < len(text) && isASCIILetter(text[i+1]):
			i++
		case c < utf8.RuneSelf:
			n++
			i++
		default:
			_, w := utf8.DecodeRuneInString(text[i:])
			n += w
			i += w
		}
	}
	return n + (letters+1)/2
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

// RequestTokens is the estimated input token count of a request of texts:
// the sum of EstimateTokens plus TokensPerInstance for each.
func RequestTokens(texts ...string) int {
	n := 0
	for _, t := range texts {
		n += EstimateTokens(t) + TokensPerInstance
	}
	return n
}
