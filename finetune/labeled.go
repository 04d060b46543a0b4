package finetune

import (
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/shoalhq/shoal/embedding"
)

// Labeled turns inputs into training or evaluation examples, taking each
// one's label from its Metadata[key]: for example the "label" that the
// loaders of package embedding/dataset set. The inputs are kept as they
// are (Metadata included) in Example.Input.
//
// A label is a non-empty string, or an integer (int, int64, or a float64
// with an integral value, as JSON numbers decode), written in decimal. An
// input without the key, or whose value is empty or of another type, is
// an error wrapping [ErrInvalidExamples] that names the input (by ID, or
// by position when it has none); an empty key is an error wrapping
// [ErrInvalidOption].
func Labeled(inputs []embedding.Input, key string) ([]Example, error) {
	if key == "" {
		return nil, fmt.Errorf("%w: Labeled: empty metadata key", ErrInvalidOption)
	}
	out := make([]Example, len(inputs))
	for i, in := range inputs {
		ex := Example{Input: in}
		v, ok := in.Metadata[key]
		if !ok {
			return nil, fmt.Errorf("%w: %s: no metadata %q", ErrInvalidExamples, exampleName(ex, i), key)
		}
		label, err := labelString(v)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: metadata %q: %v", ErrInvalidExamples, exampleName(ex, i), key, err)
		}
		ex.Label = label
		out[i] = ex
	}
	return out, nil
}

// labelString returns the label a metadata value stands for.
func labelString(v any) (string, error) {
	switch v := v.(type) {
	case string:
		if v == "" {
			return "", errors.New("empty label")
		}
		return v, nil
	case int:
		return strconv.Itoa(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		if v == math.Trunc(v) && math.Abs(v) < 1<<53 {
			return strconv.FormatInt(int64(v), 10), nil
		}
		return "", fmt.Errorf("label %v is not an integer", v)
	}
	return "", fmt.Errorf("label of type %T (want a string or an integer)", v)
}
