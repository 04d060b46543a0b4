package openai

import (
	"sort"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/tiktoken-go/tokenizer"
	"github.com/tiktoken-go/tokenizer/codec"
)

// cl100k is OpenAI's cl100k_base tokenizer (text-embedding-3-small,
// text-embedding-3-large, text-embedding-ada-002), loaded on first use.
var cl100k = sync.OnceValue(func() tokenizer.Codec { return codec.NewCl100kBase() })

// CountTokens returns the number of tokens OpenAI's embedding models count
// for text: its length in cl100k_base, the tokenizer of
// text-embedding-3-small, text-embedding-3-large and
// text-embedding-ada-002 (the count the API reports as usage.prompt_tokens
// and checks against the per-input and per-request limits). It is the
// default token counter ([WithTokenCounter]). Other servers' models use
// other tokenizers (BERT's WordPiece, SentencePiece, ...) which may count
// more; give those [EstimateTokens] or their own tokenizer.
func CountTokens(text string) int {
	ids, _, err := cl100k().Encode(text)
	if err != nil {
		// The codec fails only on invalid UTF-8 it cannot split; count
		// the bytes, the bound of a byte-level tokenizer.
		return EstimateTokens(text)
	}
	return len(ids)
}

// EstimateTokens returns a conservative token count for text under a
// tokenizer that is not known: the number of UTF-8 bytes plus 2. It is an
// upper bound for byte-level BPE tokenizers (OpenAI's, GPT-2's, Llama 3's,
// Qwen's: every token covers at least one byte), for WordPiece (BERT, bge,
// e5: every token covers at least one character) and for SentencePiece
// with byte fallback (T5, Llama 2, nomic), the 2 covering the special
// tokens ([CLS]/[SEP], <s>/</s>) such servers add. It can be several times
// the real count (about 4× for English under cl100k_base), so with it an
// input is refused, or a request split, well before the server would; use
// it with servers whose tokenizer has no Go port and whose limits you would
// rather never hit.
func EstimateTokens(text string) int { return len(text) + 2 }

// truncate returns a prefix of text that count puts at or under limit
// tokens: the longest that ends at a word's end (before a space), or,
// when not even the first word fits, the longest that ends at a character
// boundary. Cutting at a word's end keeps the last word whole, and is where
// a tokenizer's count grows with the prefix (inside a word a longer prefix
// can count fewer tokens: "fiv" may take two, "five" one). The prefix
// returned always counts at most limit.
func truncate(text string, limit int, count func(string) int) string {
	var cuts []int
	for i, r := range text {
		if prev, _ := utf8.DecodeLastRuneInString(text[:i]); unicode.IsSpace(r) && i > 0 && !unicode.IsSpace(prev) {
			cuts = append(cuts, i)
		}
	}
	if best := longest(cuts, func(i int) bool { return count(text[:i]) <= limit }); best > 0 {
		return text[:best]
	}
	cuts = cuts[:0]
	for i := range text {
		if i > 0 {
			cuts = append(cuts, i)
		}
	}
	return text[:longest(cuts, func(i int) bool { return count(text[:i]) <= limit })]
}

// longest returns the largest cut for which fits holds, by binary search
// (fits is taken to hold for a prefix of cuts), or 0.
func longest(cuts []int, fits func(int) bool) int {
	n := sort.Search(len(cuts), func(k int) bool { return !fits(cuts[k]) })
	if n == 0 {
		return 0
	}
	return cuts[n-1]
}
