// Package cli implements the tollgate command: start, check, version and
// help. Main is the whole program minus process concerns (signals, exit),
// so tests drive it directly with their own context and writers.
package cli
