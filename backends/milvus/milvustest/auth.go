package milvustest

import (
	"context"
	"encoding/base64"
	"strings"

	"google.golang.org/grpc/metadata"
)

// tokenFromContext returns the credentials the SDK sent: its
// "authorization" metadata is base64("user:password") or base64(apiKey).
func tokenFromContext(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	vals := md.Get("authorization")
	if len(vals) == 0 {
		return ""
	}
	v := strings.TrimPrefix(vals[0], "Bearer ")
	if b, err := base64.StdEncoding.DecodeString(v); err == nil {
		return string(b)
	}
	return v
}
