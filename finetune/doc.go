// Package finetune will learn domain-specific embeddings from labeled data:
// an adapter trained over a frozen base encoder so that "similar" means what
// a team's labels say. It is not built yet; the fine-tuning issue adds the
// Trainer interface, the local trainer, evaluation (precision@k, mAP@R) and
// model files. Until then, use the encoders of embedding/local directly.
package finetune
