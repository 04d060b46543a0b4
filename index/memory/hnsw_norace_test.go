//go:build !race

package memory_test

// raceOn reports a build with the race detector (see hnsw_race_test.go).
const raceOn = false
