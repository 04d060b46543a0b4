package memory

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/shoalhq/shoal/index"
)

func graphRecords(seed uint64, n, dim int, prefix string) []index.Record {
	rng := rand.New(rand.NewPCG(seed, 7))
	recs := make([]index.Record, n)
	for i := range recs {
		v := make([]float32, dim)
		for j := range v {
			v[j] = rng.Float32()*2 - 1
		}
		recs[i] = index.Record{ID: fmt.Sprintf("%s%05d", prefix, i), Vector: v, Metadata: index.Metadata{"i": int64(i)}}
	}
	return recs
}

func graphOpts(metric index.Metric, m int, more ...Option) []Option {
	return append([]Option{WithMetric(metric), WithHNSW(m, 64, 64), WithHNSWThreshold(0), WithParallelism(2)}, more...)
}

// graphOf returns the graph of ns, flattened for comparison.
func graphOf(t *testing.T, s *Store, ns string) (links0 []int32, upper map[int32][]int32, levels []uint8, ids []string, entry int32) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	sp := s.st.spaces[ns]
	require.NotNil(t, sp)
	require.NotNil(t, sp.g, "namespace %q has no graph", ns)
	g := sp.g
	return slices.Clone(g.links0), maps.Clone(g.upper), slices.Clone(g.levels), slices.Clone(sp.ids), g.entry
}

// TestGraphSavedInSnapshot: the snapshot holds the graph (tombstones
// included), so that Open reads it rather than building it again, and the
// log replays on top.
func TestGraphSavedInSnapshot(t *testing.T) {
	for _, c := range []struct {
		metric index.Metric
		int8   bool
	}{{index.Cosine, false}, {index.Euclidean, false}, {index.DotProduct, false}, {index.Cosine, true}, {index.Euclidean, true}} {
		metric := c.metric
		var more []Option
		name := metric.String()
		if c.int8 {
			more, name = []Option{WithHNSWInt8()}, name+" int8"
		}
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			dir := t.TempDir()
			s, err := Open(ctx, dir, graphOpts(metric, 8, more...)...)
			require.NoError(t, err)
			recs := graphRecords(1, 1500, 12, "r")
			require.NoError(t, s.Upsert(ctx, "a", recs))
			require.NoError(t, s.Delete(ctx, "a", []string{"r00003", "r00500", "r01499"}))
			moved := graphRecords(2, 1, 12, "r")[0] // r00000 gets a new vector: a tombstone and a new node
			require.NoError(t, s.Upsert(ctx, "a", []index.Record{moved}))
			require.NoError(t, s.Upsert(ctx, "b", graphRecords(3, 40, 12, "b")))
			require.NoError(t, s.Compact(ctx))
			l0, up, lv, ids, entry := graphOf(t, s, "a")
			require.Contains(t, ids, "", "the graph has tombstones")
			queries := graphRecords(4, 50, 12, "q")
			before := make([][]index.Match, len(queries))
			for i, q := range queries {
				before[i], err = s.Query(ctx, index.Query{Namespace: "a", Vector: q.Vector, TopK: 10})
				require.NoError(t, err)
			}
			require.NoError(t, s.Close())

			s, err = Open(ctx, dir, graphOpts(metric, 8, more...)...)
			require.NoError(t, err)
			if c.int8 {
				s.mu.RLock()
				assert.NotNil(t, s.st.spaces["a"].g.sq, "the quantizer is read back")
				s.mu.RUnlock()
			}
			l0b, upb, lvb, idsb, entryb := graphOf(t, s, "a")
			assert.True(t, slices.Equal(l0, l0b), "level-0 links differ")
			assert.True(t, maps.EqualFunc(up, upb, slices.Equal), "upper links differ")
			assert.True(t, slices.Equal(lv, lvb), "levels differ")
			assert.True(t, slices.Equal(ids, idsb), "slots differ")
			assert.Equal(t, entry, entryb, "entry point")
			for i, q := range queries {
				got, err := s.Query(ctx, index.Query{Namespace: "a", Vector: q.Vector, TopK: 10})
				require.NoError(t, err)
				assert.Equal(t, before[i], got, "query %d", i)
			}
			// The log replays on top of the saved graph.
			require.NoError(t, s.Upsert(ctx, "a", graphRecords(5, 300, 12, "w")))
			require.NoError(t, s.Delete(ctx, "a", []string{"w00007", "r00010"}))
			require.NoError(t, s.Close())
			s, err = Open(ctx, dir, graphOpts(metric, 8, more...)...)
			require.NoError(t, err)
			defer s.Close()
			n, err := s.Count(ctx, "a")
			require.NoError(t, err)
			assert.Equal(t, 1500-3+300-2, n)
			hits := 0
			for _, r := range graphRecords(5, 300, 12, "w")[:50] {
				q := index.Query{Namespace: "a", Vector: r.Vector, TopK: 3}
				got, err := s.Query(ctx, q)
				require.NoError(t, err)
				want, err := s.QueryWith(ctx, q, WithExact())
				require.NoError(t, err)
				for _, m := range want {
					if slices.ContainsFunc(got, func(g index.Match) bool { return g.ID == m.ID }) {
						hits++
					}
				}
				for _, m := range got {
					assert.NotContains(t, []string{"w00007", "r00010", "r00003"}, m.ID, "a deleted record is found")
				}
			}
			// Inner product is no metric: the graph finds less there.
			recall := float64(hits) / 150
			t.Logf("recall@3 after the log replayed on the saved graph: %.3f", recall)
			target := 0.95
			if metric == index.DotProduct {
				target = 0.85
			}
			assert.GreaterOrEqual(t, recall, target)
		})
	}
}

// TestGraphOtherSettings: a graph saved with another m is built again; a
// store without WithHNSW ignores it; one with it builds a graph for a
// snapshot that has none.
func TestGraphOtherSettings(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(ctx, dir, graphOpts(index.Euclidean, 8)...)
	require.NoError(t, err)
	recs := graphRecords(1, 800, 8, "r")
	require.NoError(t, s.Upsert(ctx, "a", recs))
	require.NoError(t, s.Delete(ctx, "a", []string{"r00001"}))
	require.NoError(t, s.Compact(ctx)) // the snapshot holds the graph
	require.NoError(t, s.Close())

	check := func(s *Store, wantM int) {
		t.Helper()
		n, err := s.Count(ctx, "a")
		require.NoError(t, err)
		assert.Equal(t, 799, n)
		for _, r := range recs[2:40] {
			m, err := s.Query(ctx, index.Query{Namespace: "a", Vector: r.Vector, TopK: 1})
			require.NoError(t, err)
			assert.Equal(t, r.ID, m[0].ID)
		}
		s.mu.RLock()
		defer s.mu.RUnlock()
		if g := s.st.spaces["a"].g; wantM == 0 {
			assert.Nil(t, g)
		} else if assert.NotNil(t, g) {
			assert.Equal(t, wantM, g.p.m)
			assert.NotContains(t, s.st.spaces["a"].ids, "", "a graph built again has no tombstones")
		}
	}
	s, err = Open(ctx, dir, graphOpts(index.Euclidean, 12)...)
	require.NoError(t, err)
	check(s, 12)
	require.NoError(t, s.Close())
	s, err = Open(ctx, dir, graphOpts(index.Euclidean, 8, WithHNSWInt8())...)
	require.NoError(t, err)
	check(s, 8) // saved without int8 codes: built again with them
	s.mu.RLock()
	assert.NotNil(t, s.st.spaces["a"].g.sq)
	s.mu.RUnlock()
	require.NoError(t, s.Close())
	s, err = Open(ctx, dir, WithMetric(index.Euclidean))
	require.NoError(t, err)
	check(s, 0)
	require.NoError(t, s.Compact(ctx)) // a snapshot without a graph
	require.NoError(t, s.Close())
	s, err = Open(ctx, dir, graphOpts(index.Euclidean, 6)...)
	require.NoError(t, err)
	check(s, 6)
	require.NoError(t, s.Close())
}

// graphEntry finds the first graph entry of the snapshot in dir: its offset
// and decoded payload.
func graphEntry(t *testing.T, dir string) (int64, *entry, []byte) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, snapName))
	require.NoError(t, err)
	off := int64(fileHeaderSize)
	for off < int64(len(b)) {
		n := int64(binary.LittleEndian.Uint32(b[off:]))
		p := b[off+entryHeaderSize : off+entryHeaderSize+n]
		if p[0] == opGraph {
			e, err := decodePayload(p)
			require.NoError(t, err)
			return off, e, b
		}
		off += entryHeaderSize + n
	}
	t.Fatal("no graph entry in the snapshot")
	return 0, nil, nil
}

// TestGraphSectionDamaged: a damaged graph section is a CorruptError naming
// the snapshot, whether its checksum catches it or its contents do.
func TestGraphSectionDamaged(t *testing.T) {
	ctx := context.Background()
	base := t.TempDir()
	s, err := Open(ctx, base, graphOpts(index.Euclidean, 8)...)
	require.NoError(t, err)
	require.NoError(t, s.Upsert(ctx, "a", graphRecords(1, 600, 8, "r")))
	require.NoError(t, s.Compact(ctx))
	require.NoError(t, s.Close())

	reencode := func(mutate func(c *graphChunk)) func([]byte, int64, *entry) []byte {
		return func(b []byte, off int64, e *entry) []byte {
			mutate(e.graph)
			n := int64(binary.LittleEndian.Uint32(b[off:]))
			var p []byte
			p = append(p, opGraph)
			p = appendString(p, e.namespace)
			p = encodeChunkForTest(p, e.graph)
			out := slices.Clone(b[:off])
			out = append(out, make([]byte, entryHeaderSize)...)
			out = append(out, p...)
			putEntryHeader(out[off:off+entryHeaderSize], out[off+entryHeaderSize:])
			return append(out, b[off+entryHeaderSize+n:]...)
		}
	}
	for name, damage := range map[string]func([]byte, int64, *entry) []byte{
		"flipped byte": func(b []byte, off int64, _ *entry) []byte {
			b = slices.Clone(b)
			b[off+entryHeaderSize+20] ^= 0x10
			return b
		},
		"link out of range": reencode(func(c *graphChunk) { c.nodes[5][0][0] = 1 << 20 }),
		"link to itself":    reencode(func(c *graphChunk) { c.nodes[5][0][0] = int32(c.first + 5) }),
		"too many links": reencode(func(c *graphChunk) {
			c.nodes[5][0] = append(c.nodes[5][0], make([]int32, 20)...)
		}),
		"wrong entry":       reencode(func(c *graphChunk) { c.head.entry = 599 }),
		"wrong node count":  reencode(func(c *graphChunk) { c.head.slots = 601 }),
		"missing nodes":     reencode(func(c *graphChunk) { c.nodes = c.nodes[:len(c.nodes)-1] }),
		"upper link to low": reencode(func(c *graphChunk) { upperLinkToLevelZero(c) }),
		"quantizer scale 0": reencode(func(c *graphChunk) {
			c.head.lo, c.head.scale = make([]float32, c.head.dim), make([]float32, c.head.dim)
		}),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			off, e, b := graphEntry(t, base)
			require.NoError(t, os.WriteFile(filepath.Join(dir, snapName), damage(b, off, e), 0o644))
			_, err := Open(ctx, dir, graphOpts(index.Euclidean, 8)...)
			var ce *CorruptError
			require.True(t, errors.As(err, &ce), "got %v", err)
			assert.ErrorIs(t, err, index.ErrCorrupt)
			assert.Equal(t, filepath.Join(dir, snapName), ce.File)
			t.Log(err)
		})
	}
}

func upperLinkToLevelZero(c *graphChunk) {
	for i, lists := range c.nodes {
		if len(lists) > 1 {
			for j, other := range c.nodes {
				if len(other) == 1 && j != i {
					if len(lists[1]) == 0 {
						lists[1] = append(lists[1], int32(c.first+j))
					} else {
						lists[1][0] = int32(c.first + j)
					}
					return
				}
			}
		}
	}
}

// encodeChunkForTest encodes c as appendGraphEntries does.
func encodeChunkForTest(b []byte, c *graphChunk) []byte {
	b = binary.AppendUvarint(b, graphVersion)
	b = binary.AppendUvarint(b, uint64(c.first))
	if h := c.head; h != nil {
		for _, x := range []int{h.m, h.dim, h.slots, h.entry, h.top, len(h.tombs)} {
			b = binary.AppendUvarint(b, uint64(x))
		}
		for i, slot := range h.tombs {
			b = binary.AppendUvarint(b, uint64(slot))
			b = appendFloats(b, h.tombVecs[i])
		}
		if h.lo == nil {
			b = append(b, 0)
		} else {
			b = appendFloats(appendFloats(append(b, 1), h.lo), h.scale)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(c.nodes)))
	for _, lists := range c.nodes {
		b = append(b, byte(len(lists)-1))
		for _, l := range lists {
			b = binary.AppendUvarint(b, uint64(len(l)))
			for _, nb := range l {
				b = binary.LittleEndian.AppendUint32(b, uint32(nb))
			}
		}
	}
	return b
}
