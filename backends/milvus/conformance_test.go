package milvus_test

import (
	"testing"

	"github.com/shoalhq/shoal/index"
	"github.com/shoalhq/shoal/index/indextest"
)

func TestConformance(t *testing.T) {
	srv := newFake(t)
	indextest.Run(t, func(t *testing.T, cfg indextest.Config) index.VectorStore {
		s, _ := openStore(t, srv, cfg.Dim, cfg.Metric)
		return s
	})
}
