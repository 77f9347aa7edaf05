package client_test

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/routertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dial joins realm1 on srv over kind/serializer and closes the session at
// the end of the test.
func dial(t testing.TB, srv *routertest.Server, kind, serializer string, mod ...func(*client.Config)) *client.Session {
	t.Helper()
	cfg := client.Config{Realm: routertest.Realm, Serializer: serializer}
	for _, f := range mod {
		f(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := client.Dial(ctx, srv.URL(kind), cfg)
	if err != nil {
		t.Fatalf("Dial %s/%s: %v", kind, serializer, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
