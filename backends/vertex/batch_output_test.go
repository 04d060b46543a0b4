package vertex

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/embedding"
)

// TestDecodeOutputLineFormats reads the batch output lines the services
// document: the publisher text-embedding format of "Get batch text
// embeddings predictions" (rules.BatchEmbeddingsDoc: "predictions" is a
// list, "status" is "" on success and the reason on failure) and the
// custom-model PredictionResult format (rules.CustomOutputDoc), with the ID
// under "key" (InstanceConfig.key_field) or in the instance.
func TestDecodeOutputLineFormats(t *testing.T) {
	t.Parallel()
	text := &Encoder{kind: kindText, info: embedding.Info{Dim: 3}}
	custom := &Encoder{kind: kindCustom, info: embedding.Info{Dim: 3}}
	tests := []struct {
		name   string
		enc    *Encoder
		line   string
		isErr  bool
		id     string
		vec    []float32
		err    error
		reason string
	}{
		{name: "documented publisher line, instance id", enc: text,
			line: `{"instance":{"content":"Give...","id":"a"},"predictions": [{"embeddings":{"statistics":{"token_count":8,"truncated":false},"values":[0.2,0.1,0.3]}}],"status":""}`,
			id:   "a", vec: []float32{0.2, 0.1, 0.3}},
		{name: "publisher line with key", enc: text,
			line: `{"key":"b","predictions":[{"embeddings":{"statistics":{"token_count":3,"truncated":false},"values":[1,2,3]}}],"status":""}`,
			id:   "b", vec: []float32{1, 2, 3}},
		{name: "publisher line that failed", enc: text,
			line: `{"key":"c","predictions":[],"status":"Unable to submit request because the input token count is 20001 but the model supports up to 20000."}`,
			id:   "c", err: embedding.ErrInvalidInput, reason: "input token count is 20001"},
		{name: "publisher failure without predictions", enc: text,
			line: `{"instance":{"content":"x","id":"d"},"status":"INVALID_ARGUMENT: missing content"}`,
			err:  embedding.ErrInvalidInput, reason: "missing content"},
		{name: "publisher line with two predictions", enc: text,
			line: `{"key":"e","predictions":[{"embeddings":{"values":[1,2,3]}},{"embeddings":{"values":[1,2,3]}}],"status":""}`,
			err:  embedding.ErrBadOutput, reason: "2 predictions for one instance"},
		{name: "custom line", enc: custom,
			line: `{"key":"f","prediction":{"embedding":[4,5,6]}}`, id: "f", vec: []float32{4, 5, 6}},
		{name: "custom line, instance and list prediction", enc: custom,
			line: `{"instance":{"id":"g","text":"x"},"prediction":[7,8,9]}`, id: "g", vec: []float32{7, 8, 9}},
		{name: "custom errors file line", enc: custom, isErr: true,
			line: `{"id":"h","text":"x","error":{"code":3,"message":"instance is malformed"}}`,
			err:  embedding.ErrInvalidInput, reason: "3 instance is malformed"},
		{name: "custom error with status name", enc: custom,
			line: `{"key":"i","error":{"status":"INVALID_ARGUMENT","message":"bad"}}`,
			err:  embedding.ErrInvalidInput, reason: "INVALID_ARGUMENT bad"},
		{name: "neither prediction nor predictions", enc: text,
			line: `{"key":"j","status":""}`, err: embedding.ErrBadOutput, reason: "neither prediction nor predictions"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := tc.enc.decodeOutputLine([]byte(tc.line), tc.isErr)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				assert.Contains(t, err.Error(), tc.reason)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.id, rec.ID)
			assert.Equal(t, tc.vec, rec.Vector)
		})
	}
}
