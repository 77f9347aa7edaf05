package router_test

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a test leaves a goroutine behind
// (connections, writers, testament publishers, timers).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
