package router

import (
	"testing"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// BenchmarkMessageCounters counts each message (one received, one sent,
// with bytes) in a connection's own msgCounters, as the router does
// ("sharded"), and in one block shared by every goroutine, as the
// router-wide atomics did ("shared"; Add for both directions, as several
// readers then write it). Run with -cpu 1,2: the shared block's cache line
// moves between cores on every message; a connection's stays put.
func BenchmarkMessageCounters(b *testing.B) {
	b.Run("sharded", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			mc := new(msgCounters) // one connection per goroutine
			for pb.Next() {
				mc.in(wamp.TypePublish, 64)
				mc.out(wamp.TypeEvent, 64)
			}
		})
	})
	b.Run("shared", func(b *testing.B) {
		mc := new(msgCounters)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				mc.out(wamp.TypePublish, 64)
				mc.out(wamp.TypeEvent, 64)
			}
		})
	})
}
