// Package local holds Shoal's embedded default encoders: an image encoder
// ([ImageEncoder]) and a text encoder ([TextEncoder]). They are pure Go and
// deterministic: the same options give the same vectors in every process
// and on every machine (up to float rounding between CPU architectures),
// and a change of the vector format comes with a new Model version. They
// need no download and no accelerator, and are safe for concurrent use.
//
// They are honest baselines, not learned models:
//
//   - [ImageEncoder] decodes PNG, JPEG or GIF (or takes an image already in
//     memory from embedding.Input.Decoded), converts to grayscale (or
//     keeps RGB), resizes to a small fixed square and uses the pixel
//     intensities as features, optionally followed by a seeded random
//     projection. On small centred images such as Fashion-MNIST, cosine
//     similarity of raw pixels already separates many classes; on photos it
//     captures little more than layout and colour.
//   - [TextEncoder] hashes word unigrams and bigrams and character n-grams
//     (the fastText recipe without the training) and projects them to a
//     fixed dimension with a seeded ±1 projection that needs no stored
//     matrix. Texts that share words and word pieces come out close; it
//     knows no synonyms.
//
// The point of Shoal is to fine-tune on top of them with package finetune
// (which learns a small head over these frozen features from a few labelled
// examples), or to replace them with a model served on Vertex AI
// (backends/vertex). Both encoders implement [embedding.Encoder], so every
// pipeline takes them unchanged.
//
// Every vector has unit L2 norm (Info().Normalized is true), so cosine
// similarity is a dot product. Info().Model spells out the exact
// configuration, for example
//
//	shoal-local-image/v1 side=28 gray dim=784
//	shoal-local-image/v1 side=28 gray dim=256 proj=gaussian seed=1
//	shoal-local-text/v1 dim=256 words=1-2 chars=3-5 seed=1
//
// so that a store namespace never mixes vectors of different configurations.
//
// # Errors
//
// Constructors reject bad options with an error wrapping
// [embedding.ErrInvalidOption] that names the option and its value. Encode
// rejects an input it cannot use (no image, both Image and Decoded, an
// undecodable or empty image, an empty text, an unreadable file)
// with an error wrapping [embedding.ErrInvalidInput] that names the input's
// ID; such errors are not retryable. A cancelled context ends Encode with
// the context's error.
package local
