//go:build race

package memory_test

// raceOn reports a build with the race detector, which makes the graph's
// tests about ten times slower: they run on smaller sets.
const raceOn = true
