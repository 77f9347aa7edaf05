package interop

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestStormWithPythonAuthenticator: 200 Go clients log in at once through
// an Autobahn|Python dynamic ticket authenticator guarded to 4 calls at
// once (issue 18, part 6). Every login is answered, the wrong tickets
// refused by the backend, and the backend never runs more than 4 calls.
func TestStormWithPythonAuthenticator(t *testing.T) {
	t.Parallel()
	py, err := pythonBin()
	if err != nil {
		t.Fatal(err)
	}
	r := startRouterWith(t, "storm.yaml", []string{"backdoor", "front"})
	startPython(t, py, "storm_backend.py", r.wsURL("backdoor"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n, badEvery = 200, 10
	var wg sync.WaitGroup
	errs := make([]error, n)
	sessions := make([]*client.Session, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ticket := "good"
			if i%badEvery == 0 {
				ticket = "bad"
			}
			<-start
			sessions[i], errs[i] = client.Dial(ctx, r.wsURL("front"), client.Config{Realm: "realm1",
				AuthID: fmt.Sprintf("user%d", i), Auth: []client.Authenticator{client.Ticket(ticket)}})
		}()
	}
	close(start)
	wg.Wait()
	accepted, refused := 0, 0
	for i, err := range errs {
		var ae *client.AbortError
		switch {
		case err == nil:
			accepted++
			sessions[i].Close(ctx)
		case errors.As(err, &ae) && ae.Reason == wamp.ErrAuthenticationFailed && ae.Message == "wrong ticket":
			refused++
		default:
			t.Errorf("login %d: %v", i, err)
		}
	}
	if accepted != n-n/badEvery || refused != n/badEvery {
		t.Errorf("%d accepted, %d refused, want %d and %d", accepted, refused, n-n/badEvery, n/badEvery)
	}

	s, err := client.Dial(ctx, r.wsURL("backdoor"), client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	res, err := s.Call(ctx, "com.storm.stats", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := res.Arg(0).(wamp.Dict)
	peak, _ := wamp.AsInt(st["peak"])
	calls, _ := wamp.AsInt(st["calls"])
	t.Logf("Python authenticator: %d calls, at most %d at once", calls, peak)
	if peak > 4 || peak < 1 || calls != n {
		t.Errorf("backend stats %v: want at most 4 calls at once and %d calls", st, n)
	}
}
