// Package dataset loads labeled items from files into [embedding.Input]
// values, ready for [embedding.EncodeAll], the index and the fine-tuning
// of package finetune (see finetune.Labeled). It reads three layouts:
//
//   - a labeled folder: images under a directory described by a labels.csv
//     of "path,label" rows ([LoadFolder], [ScanFolder]);
//   - a manifest: a CSV file with a header, or a JSON Lines file, with an
//     id, a path or a text, and any other columns as metadata
//     ([LoadManifest], [ScanManifest]);
//   - IDX files, the format of MNIST and Fashion-MNIST: an images file and
//     a labels file, optionally gzipped ([LoadIDX], [ReadIDX]).
//
// Image files come as Input.Image bytes with their MIMEType; IDX pixels
// come as Input.Decoded images (no encoding round trip). Every input's
// Metadata holds what is known of it: "label", "path", and the manifest's
// other columns. The Load functions return a slice; the Scan functions
// stream, for pools too large to hold in memory. Paths in a labels.csv or a
// manifest are relative to its directory and must stay inside it.
//
// # Errors
//
// A file that cannot be read gives an error wrapping the os error (test
// with errors.Is(err, fs.ErrNotExist)). Malformed content (a bad CSV row, a
// path escaping the folder, a duplicate ID, an IDX file with the wrong
// magic number or counts that disagree) gives an error wrapping
// [ErrInvalidData]; a bad option one wrapping [ErrInvalidOption]. Each
// names the file and, for text files, the line.
package dataset
