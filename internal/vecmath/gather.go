package vecmath

// Gather forms of the distance kernels, for graph searches (HNSW): one query
// against scattered rows of a slab, named by their indices, such as the
// unvisited neighbours of a node. The assembly prefetches the next row while
// it scores the current one (see gatherLines).

// DotGather sets out[i] = Dot8(q, row ids[i] of slab) for every i < len(ids),
// bit for bit, where row r is slab[r·d : r·d+d] and d = len(q). It panics if
// len(out) < len(ids) or an id is negative or past the last whole row.
func DotGather(q, slab []float32, ids []int32, out []float32) {
	d := len(q)
	checkGather(d, len(slab), ids, len(out))
	if useAsm {
		dotGatherAsm(q, slab, ids, out, gatherLines(4*d))
		return
	}
	for i, id := range ids {
		r := int(id) * d
		out[i] = dot8(q, slab[r:r+d:r+d])
	}
}

// SquaredL2Gather sets out[i] = SquaredL2x8(q, row ids[i] of slab) for every
// i < len(ids), bit for bit, where row r is slab[r·d : r·d+d] and
// d = len(q). It panics if len(out) < len(ids) or an id is negative or past
// the last whole row.
func SquaredL2Gather(q, slab []float32, ids []int32, out []float32) {
	d := len(q)
	checkGather(d, len(slab), ids, len(out))
	if useAsm {
		squaredL2GatherAsm(q, slab, ids, out, gatherLines(4*d))
		return
	}
	for i, id := range ids {
		r := int(id) * d
		out[i] = squaredL2x8(q, slab[r:r+d:r+d])
	}
}

// DotU8Gather sets out[i] = DotU8(q, row ids[i] of codes) for every
// i < len(ids), bit for bit, where row r is codes[r·d : r·d+d] and
// d = len(q). It panics if len(out) < len(ids) or an id is negative or past
// the last whole row.
func DotU8Gather(q []float32, codes []uint8, ids []int32, out []float32) {
	d := len(q)
	checkGather(d, len(codes), ids, len(out))
	if useAsm {
		dotU8GatherAsm(q, codes, ids, out, gatherLines(d))
		return
	}
	for i, id := range ids {
		r := int(id) * d
		out[i] = dotU8(q, codes[r:r+d:r+d])
	}
}

// checkGather panics unless out holds len(ids) results and every id names
// a whole row of a slab of n elements with rows of d: the assembly reads
// the rows without bounds checks. It takes the largest id as uint32, so a
// negative id counts as larger than any row (one pass, no branch per id).
func checkGather(d, n int, ids []int32, outLen int) {
	if outLen < len(ids) {
		panic("vecmath: out shorter than ids")
	}
	var m uint32
	for _, id := range ids {
		m = max(m, uint32(id))
	}
	if len(ids) > 0 && (m > 1<<31-1 || d > 0 && int(m) >= n/d) {
		panic("vecmath: row id out of range")
	}
}

// gatherLines returns how many 64-byte cache lines of the next row the
// gather kernels prefetch, for rows of the given size in bytes: two, or
// fewer for a shorter row. The first lines start the row's fetch from
// memory while the current row is scored, and the CPU's own prefetcher
// streams the rest once the kernel reads the row. BenchmarkGather (32
// random rows of a 256 MiB slab, -cpu 1, medians of 4 runs of the median
// call on a shared 2-core AMD EPYC VM) gives, in ns per row and as a
// fraction of a Go loop calling Dot8 per id:
//
//	d                      128         256         784         960
//	Go loop of Dot8        119         218         438         537
//	gather, no prefetch     99 (0.84)  186 (0.85)  430 (0.98)  528 (0.98)
//	1 line                  86 (0.72)  163 (0.75)  334 (0.76)  402 (0.75)
//	2 lines                 86 (0.72)  163 (0.75)  333 (0.76)  400 (0.75)
//	4 lines                 85 (0.72)  161 (0.74)  327 (0.75)  398 (0.74)
//	the whole row           90 (0.76)  173 (0.79)  441 (1.01)  532 (0.99)
//	Go loop of DotU8       129         226         487         484
//	DotU8Gather (2 lines)   98 (0.76)  172 (0.76)  323 (0.66)  322 (0.67)
//
// (The uint8 rows, from a slab as large and with 4× as many rows, in a
// later run where DotGather measured 0.72, 0.85, 0.76 and 0.77.)
// One, two and four lines are alike (within 2 %); the whole row gains
// little at d=256 and nothing at d=784 (presumably its many prefetches
// queue up ahead of the row being scored). Prefetching two rows ahead
// (ids[i+2]) measured no better than one in a noisier run, so the kernels
// stay with hnswlib's one. DotGather's check of the ids costs about 0.5 ns
// a row (32 ids a call), under 1 %.
func gatherLines(rowBytes int) int { return min(2, (rowBytes+63)/64) }
