package dealer

import (
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// chanSession delivers what the dealer sends on a channel (never blocks:
// the buffer is sized for the test).
type chanSession struct {
	id wamp.ID
	ch chan wamp.Message
}

func (s *chanSession) ID() wamp.ID      { return s.id }
func (s *chanSession) AuthID() string   { return "a" }
func (s *chanSession) AuthRole() string { return "r" }
func (s *chanSession) Send(m wamp.Message) error {
	select {
	case s.ch <- m:
		return nil
	default:
		panic("chanSession buffer full")
	}
}

func tableSizes(p *Peer) (callee, caller int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.asCallee), len(p.asCaller)
}

// A caller that leaves mid-call must not leave its invocation in the
// callee's table: a callee that honours the INTERRUPT (killnowait) never
// answers, so the entry would stay until the callee itself leaves.
func TestCallerLeaveForgetsCalleeSide(t *testing.T) {
	t.Parallel()
	for _, canceling := range []bool{true, false} {
		var seq wamp.Sequence
		d := New(&seq)
		cs := &chanSession{id: 1, ch: make(chan wamp.Message, 16)}
		callee := NewPeer(cs)
		callee.CalleeCanceling = canceling
		caller := NewPeer(&chanSession{id: 2, ch: make(chan wamp.Message, 16)})
		if _, errURI := d.Register(callee, "p", RegisterOptions{}); errURI != "" {
			t.Fatal(errURI)
		}
		if errURI := call(d, caller, &wamp.Call{Request: 1, Procedure: "p", Options: wamp.Dict{}}, CallOptions{}); errURI != "" {
			t.Fatal(errURI)
		}
		inv := (<-cs.ch).(*wamp.Invocation)
		d.Leave(caller)
		if n, _ := tableSizes(callee); n != 0 {
			t.Errorf("canceling=%v: callee still holds %d invocation(s) of a caller that left", canceling, n)
		}
		// A late answer is dropped quietly.
		d.Yield(callee, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
	}
}

// TestStressExactlyOneAnswer races YIELD (progressive and final), callee
// ERROR, CANCEL in every mode and call timeouts: every CALL gets exactly
// one final answer, no progressive RESULT follows it, and both peers'
// tables end empty.
func TestStressExactlyOneAnswer(t *testing.T) {
	t.Parallel()
	const callers, calls = 8, 300
	var seq wamp.Sequence
	d := New(&seq)
	cs := &chanSession{id: 1, ch: make(chan wamp.Message, 4*callers*calls)}
	callee := NewPeer(cs)
	callee.CalleeCanceling, callee.CalleeProgress = true, true
	if _, errURI := d.Register(callee, "p", RegisterOptions{}); errURI != "" {
		t.Fatal(errURI)
	}

	// The callee answers every INVOCATION from a few goroutines.
	var calleeWG sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		calleeWG.Add(1)
		go func() {
			defer calleeWG.Done()
			for {
				var m wamp.Message
				select {
				case m = <-cs.ch:
				case <-stop:
					return
				}
				inv, ok := m.(*wamp.Invocation)
				if !ok {
					continue // INTERRUPT: answered below anyway
				}
				if rand.IntN(2) == 0 {
					d.Yield(callee, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{"progress": true}})
				}
				if rand.IntN(4) == 0 {
					time.Sleep(time.Duration(rand.IntN(1500)) * time.Microsecond)
				}
				if rand.IntN(3) == 0 {
					d.Error(callee, &wamp.Error{RequestType: wamp.TypeInvocation, Request: inv.Request, Error: "app.err"})
				} else {
					d.Yield(callee, &wamp.Yield{Request: inv.Request, Options: wamp.Dict{}})
				}
			}
		}()
	}

	var wg sync.WaitGroup
	for c := range callers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := &chanSession{id: wamp.ID(100 + c), ch: make(chan wamp.Message, 4*calls)}
			p := NewPeer(s)
			for req := wamp.ID(1); req <= calls; req++ {
				o := CallOptions{ReceiveProgress: true}
				if rand.IntN(3) == 0 {
					o.Timeout = time.Millisecond
				}
				if errURI := call(d, p, &wamp.Call{Request: req, Procedure: "p", Options: wamp.Dict{}}, o); errURI != "" {
					t.Errorf("call %d: %s", req, errURI)
					return
				}
				switch rand.IntN(5) {
				case 0:
					d.Cancel(p, req, CancelSkip)
				case 1:
					d.Cancel(p, req, CancelKill)
				case 2:
					d.Cancel(p, req, CancelKillNoWait)
				}
			}
			final := map[wamp.ID]int{}
			deadline := time.After(10 * time.Second)
			for len(final) < calls {
				select {
				case m := <-s.ch:
					var req wamp.ID
					progress := false
					switch m := m.(type) {
					case *wamp.Result:
						req = m.Request
						progress, _ = wamp.OptBool(m.Details, "progress")
					case *wamp.Error:
						req = m.Request
					default:
						t.Errorf("caller got %v", m.MessageType())
						return
					}
					if final[req] > 0 {
						t.Errorf("caller %d call %d: %v (progress=%v) after its final answer", c, req, m.MessageType(), progress)
					}
					if !progress {
						final[req]++
					}
				case <-deadline:
					t.Errorf("caller %d: %d of %d calls answered", c, len(final), calls)
					return
				}
			}
			// Nothing more may arrive.
			select {
			case m := <-s.ch:
				t.Errorf("caller %d: extra %v after every call was answered", c, m.MessageType())
			case <-time.After(20 * time.Millisecond):
			}
			if _, n := tableSizes(p); n != 0 {
				t.Errorf("caller %d: %d calls left in its table", c, n)
			}
		}()
	}
	wg.Wait()
	// Late callee answers to canceled calls are dropped; once they are
	// all in, the callee holds nothing.
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, _ := tableSizes(callee)
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("callee still holds %d invocations", n)
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	close(stop)
	calleeWG.Wait()
}

// call routes c the way the router does: Pick, then Call.
func call(d *Dealer, caller *Peer, c *wamp.Call, o CallOptions) wamp.URI {
	t, ok := d.Pick(c.Procedure)
	if !ok {
		return wamp.ErrNoSuchProcedure
	}
	return d.Call(caller, c, t, o)
}
