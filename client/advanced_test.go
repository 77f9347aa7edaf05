package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// Event retention, progressive call invocations and payload passthru mode
// through the Go client against the real router.

func TestEventRetentionClient(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			pub := dial(t, srv, "tcp", ser)
			sub := dial(t, srv, "ws", ser)
			topic := wamp.URI("com.retain." + ser)
			if err := pub.Publish(ctx, topic, wamp.List{"old"}, nil, client.Retain(), client.Acknowledge()); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, topic, wamp.List{"kept"}, nil, client.Retain(), client.Acknowledge()); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, topic, wamp.List{"not kept"}, nil, client.Acknowledge()); err != nil {
				t.Fatal(err)
			}

			// With GetRetained: the retained event comes first, marked.
			withRet := make(chan *client.Event, 4)
			if _, err := sub.Subscribe(ctx, topic, func(_ context.Context, ev *client.Event) { withRet <- ev },
				client.GetRetained()); err != nil {
				t.Fatal(err)
			}
			// Without: the first event is the live one published next.
			live := make(chan *client.Event, 4)
			if _, err := sub.Subscribe(ctx, topic+".plain", func(_ context.Context, ev *client.Event) { live <- ev }); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, topic+".plain", wamp.List{"kept too"}, nil, client.Retain(), client.Acknowledge()); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, topic, wamp.List{"live"}, nil, client.Acknowledge()); err != nil {
				t.Fatal(err)
			}
			for i, want := range []struct {
				arg      string
				retained bool
			}{{"kept", true}, {"live", false}} {
				select {
				case ev := <-withRet:
					if arg0(ev) != want.arg || ev.Retained != want.retained {
						t.Errorf("event %d: %v retained=%v, want %s retained=%v", i, ev.Args, ev.Retained, want.arg, want.retained)
					}
				case <-ctx.Done():
					t.Fatalf("event %d (%s) missing", i, want.arg)
				}
			}
			select {
			case ev := <-live:
				if arg0(ev) != "kept too" || ev.Retained {
					t.Errorf("subscription without GetRetained got %v retained=%v first", ev.Args, ev.Retained)
				}
			case <-ctx.Done():
				t.Fatal("live event missing")
			}
			// A later subscriber without GetRetained gets no retained event:
			// the first event it sees is the next live one.
			other := dial(t, srv, "unix", ser)
			late2 := make(chan *client.Event, 4)
			if _, err := other.Subscribe(ctx, topic+".plain", func(_ context.Context, ev *client.Event) { late2 <- ev }); err != nil {
				t.Fatal(err)
			}
			if err := pub.Publish(ctx, topic+".plain", wamp.List{"next"}, nil, client.Acknowledge()); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-late2:
				if arg0(ev) != "next" || ev.Retained {
					t.Errorf("late subscriber without GetRetained got %v retained=%v first", ev.Args, ev.Retained)
				}
			case <-ctx.Done():
				t.Fatal("live event for the late subscriber missing")
			}
		})
	}
}

func arg0(ev *client.Event) any {
	if len(ev.Args) == 0 {
		return nil
	}
	return ev.Args[0]
}

// chunkCollector is a streaming callee: it returns every chunk's first
// argument joined with "+", and the chunks' Last flags.
func chunkCollector(seen chan<- string) func(context.Context, *client.Invocation) (client.Result, error) {
	return func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		parts := []string{fmt.Sprint(inv.Args[0])}
		if !inv.ProgressiveInput() {
			return client.Result{Args: wamp.List{"plain:" + parts[0]}}, nil
		}
		for {
			c, err := inv.NextChunk(ctx)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return client.Result{}, err
			}
			if seen != nil {
				seen <- fmt.Sprintf("%v last=%v", c.Args, c.Last)
			}
			if len(c.Args) > 0 {
				parts = append(parts, fmt.Sprint(c.Args[0]))
			}
		}
		return client.Result{Args: wamp.List{strings.Join(parts, "+")}}, nil
	}
}

func TestProgressiveCallInvocationsClient(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			callee := dial(t, srv, "tcp", ser)
			caller := dial(t, srv, "ws", "json")
			proc := wamp.URI("com.upload." + ser)
			seen := make(chan string, 16)
			if _, err := callee.Register(ctx, proc, chunkCollector(seen)); err != nil {
				t.Fatal(err)
			}

			cs, err := caller.CallProgressive(ctx, proc)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"c1", "c2", "c3"} {
				if err := cs.Send(ctx, wamp.List{c}, nil); err != nil {
					t.Fatalf("Send %s: %v", c, err)
				}
			}
			res, err := cs.Finish(ctx, wamp.List{"end"}, nil)
			if err != nil || res.Arg(0) != "c1+c2+c3+end" {
				t.Fatalf("Finish = %v, %v; want c1+c2+c3+end", res, err)
			}
			close(seen)
			var got []string
			for s := range seen {
				got = append(got, s)
			}
			if fmt.Sprint(got) != "[[c2] last=false [c3] last=false [end] last=true]" {
				t.Errorf("callee saw %q", got)
			}
			if err := cs.Send(ctx, wamp.List{"late"}, nil); !errors.Is(err, client.ErrCallEnded) {
				t.Errorf("Send after Finish = %v, want ErrCallEnded", err)
			}
			if _, err := cs.Finish(ctx, nil, nil); !errors.Is(err, client.ErrCallEnded) {
				t.Errorf("second Finish = %v, want ErrCallEnded", err)
			}

			// Finish alone is a plain call.
			cs, err = caller.CallProgressive(ctx, proc)
			if err != nil {
				t.Fatal(err)
			}
			if res, err := cs.Finish(ctx, wamp.List{"only"}, nil); err != nil || res.Arg(0) != "plain:only" {
				t.Fatalf("Finish without Send = %v, %v", res, err)
			}
		})
	}
}

func TestProgressiveCallInvocationsDuplexAndTyped(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	ctx := testCtx(t)
	callee := dial(t, srv, "unix", "cbor")
	caller := dial(t, srv, "tcp", "msgpack")
	// A typed handler: parameters come from the first chunk, the rest from
	// cc.NextChunk; each chunk is echoed as a progressive result.
	if _, err := callee.Register(ctx, "com.sum", func(cc *client.CallContext, first int) (int, error) {
		sum := first
		for {
			c, err := cc.NextChunk(cc)
			if errors.Is(err, io.EOF) {
				return sum, nil
			}
			if err != nil {
				return 0, err
			}
			n, _ := wamp.AsInt(c.Args[0])
			sum += int(n)
			if err := cc.Progress(cc, sum); err != nil {
				return 0, err
			}
		}
	}); err != nil {
		t.Fatal(err)
	}
	var partial []int64
	cs, err := caller.CallProgressive(ctx, "com.sum", client.ReceiveProgress(func(r *client.Result) {
		n, _ := wamp.AsInt(r.Arg(0))
		partial = append(partial, n)
	}))
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 4; i++ {
		if err := cs.Send(ctx, wamp.List{i}, nil); err != nil {
			t.Fatal(err)
		}
	}
	res, err := cs.Finish(ctx, wamp.List{5}, nil)
	if n, _ := wamp.AsInt(res.Arg(0)); err != nil || n != 15 {
		t.Fatalf("Finish = %v, %v; want 15", res, err)
	}
	if fmt.Sprint(partial) != "[3 6 10 15]" {
		t.Errorf("progressive results %v, want [3 6 10 15]", partial)
	}
}

func TestProgressiveCallInvocationsEnds(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)

	t.Run("callee answers early", func(t *testing.T) { progressiveEndsEarlyAnswer(t, srv) })
	t.Run("cancel interrupts the handler", func(t *testing.T) { progressiveEndsByCancel(t, srv) })
	t.Run("ctx of Finish ends", func(t *testing.T) { progressiveEndsByFinishCtx(t, srv) })
	t.Run("too many unread chunks", func(t *testing.T) { progressiveEndsByChunkOverflow(t, srv) })
	t.Run("callee without handler for chunks", func(t *testing.T) { progressiveEndsIgnoredStream(t, srv) })
}

func progressiveEndsEarlyAnswer(t *testing.T, srv *routertest.Server) {
	t.Parallel()
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "json")
	caller := dial(t, srv, "tcp", "json")
	if _, err := callee.Register(ctx, "com.full", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		return client.Result{}, client.NewError("com.app.error.full", inv.Args[0])
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := caller.CallProgressive(ctx, "com.full")
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Send(ctx, wamp.List{"c1"}, nil); err != nil {
		t.Fatal(err)
	}
	// Depending on timing the error is reported by Send already.
	if err := cs.Send(ctx, wamp.List{"c2"}, nil); err != nil && !errors.Is(err, &client.Error{URI: "com.app.error.full"}) {
		t.Fatalf("Send c2 = %v", err)
	}
	_, err = cs.Finish(ctx, wamp.List{"c3"}, nil)
	var we *client.Error
	if !errors.As(err, &we) || we.URI != "com.app.error.full" || we.Args[0] != "c1" {
		t.Fatalf("Finish = %v, want com.app.error.full c1", err)
	}
	// The session keeps working: the dropped chunks started nothing.
	if _, err := callee.Register(ctx, "com.echo", func(s string) string { return s }); err != nil {
		t.Fatal(err)
	}
	if res, err := caller.Call(ctx, "com.echo", wamp.List{"x"}, nil); err != nil || res.Arg(0) != "x" {
		t.Fatalf("after = %v, %v", res, err)
	}
}

func progressiveEndsByCancel(t *testing.T, srv *routertest.Server) {
	t.Parallel()
	ctx := testCtx(t)
	callee := dial(t, srv, "unix", "msgpack")
	caller := dial(t, srv, "ws", "cbor")
	got := make(chan error, 1)
	if _, err := callee.Register(ctx, "com.wait", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		_, err := inv.NextChunk(context.Background()) // only INTERRUPT ends this wait
		got <- err
		return client.Result{}, err
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := caller.CallProgressive(ctx, "com.wait", client.CancelMode(wamp.CancelKill))
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Send(ctx, wamp.List{"c1"}, nil); err != nil {
		t.Fatal(err)
	}
	if err := cs.Cancel(ctx); err != nil {
		t.Fatalf("Cancel = %v", err)
	}
	if err := <-got; !errors.Is(err, context.Canceled) {
		t.Fatalf("NextChunk after cancel = %v, want context.Canceled", err)
	}
	if err := cs.Cancel(ctx); !errors.Is(err, client.ErrCallEnded) {
		t.Errorf("second Cancel = %v", err)
	}
	if err := cs.Send(ctx, wamp.List{"c2"}, nil); !errors.Is(err, client.ErrCallEnded) {
		t.Errorf("Send after Cancel = %v", err)
	}
}

func progressiveEndsByFinishCtx(t *testing.T, srv *routertest.Server) {
	t.Parallel()
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "cbor")
	caller := dial(t, srv, "tcp", "cbor")
	if _, err := callee.Register(ctx, "com.never", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		<-ctx.Done()
		return client.Result{}, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := caller.CallProgressive(ctx, "com.never")
	if err != nil {
		t.Fatal(err)
	}
	if err := cs.Send(ctx, wamp.List{1}, nil); err != nil {
		t.Fatal(err)
	}
	fctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = cs.Finish(fctx, wamp.List{2}, nil)
	var we *client.Error
	if !errors.Is(err, context.Canceled) || !errors.As(err, &we) || we.URI != wamp.ErrCanceled {
		t.Fatalf("Finish = %v, want context.Canceled and wamp.error.canceled", err)
	}
}

func progressiveEndsByChunkOverflow(t *testing.T, srv *routertest.Server) {
	t.Parallel()
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "msgpack")
	caller := dial(t, srv, "tcp", "msgpack")
	causes := make(chan error, 4)
	if _, err := callee.Register(ctx, "com.slow", func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
		<-ctx.Done() // reads no chunk
		causes <- context.Cause(ctx)
		return client.Result{}, ctx.Err()
	}); err != nil {
		t.Fatal(err)
	}
	cs, err := caller.CallProgressive(ctx, "com.slow")
	if err != nil {
		t.Fatal(err)
	}
	const n = 300 // more than the 256 chunks buffered per invocation
	for i := range n {
		if err := cs.Send(ctx, wamp.List{i}, nil); err != nil && !errors.Is(err, &client.Error{URI: wamp.ErrCanceled}) {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	_, err = cs.Finish(ctx, wamp.List{"end"}, nil)
	if !errors.Is(err, &client.Error{URI: wamp.ErrCanceled}) || !strings.Contains(err.Error(), "unread") {
		t.Fatalf("Finish = %v, want wamp.error.canceled about unread chunks", err)
	}
	if cause := <-causes; cause == nil || !strings.Contains(cause.Error(), "more than 256 input chunks unread") {
		t.Errorf("handler ctx cause = %v", cause)
	}
	// The callee session still works; the handler ran once.
	if _, err := callee.Register(ctx, "com.after", func() {}); err != nil {
		t.Fatal(err)
	}
	if _, err := caller.Call(ctx, "com.after", nil, nil); err != nil {
		t.Fatal(err)
	}
	if len(causes) != 0 {
		t.Errorf("handler ran again for chunks after the answer")
	}
}

func progressiveEndsIgnoredStream(t *testing.T, srv *routertest.Server) {
	t.Parallel()
	ctx := testCtx(t)
	callee := dial(t, srv, "tcp", "json")
	caller := dial(t, srv, "ws", "json")
	// A handler that ignores the stream answers at once; the chunks the
	// router still forwards are dropped, none starts a new invocation.
	calls := make(chan string, 16)
	if _, err := callee.Register(ctx, "com.first", func(s string) string { calls <- s; return "got " + s }); err != nil {
		t.Fatal(err)
	}
	cs, err := caller.CallProgressive(ctx, "com.first")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		if err := cs.Send(ctx, wamp.List{fmt.Sprint(i)}, nil); err != nil && !errors.Is(err, client.ErrCallEnded) {
			t.Fatal(err)
		}
	}
	res, err := cs.Finish(ctx, wamp.List{"end"}, nil)
	if err != nil || res.Arg(0) != "got 0" {
		t.Fatalf("Finish = %v, %v", res, err)
	}
	if res, err := caller.Call(ctx, "com.first", wamp.List{"next"}, nil); err != nil || res.Arg(0) != "got next" {
		t.Fatalf("next call = %v, %v", res, err)
	}
	close(calls)
	var got []string
	for c := range calls {
		got = append(got, c)
	}
	if fmt.Sprint(got) != "[0 next]" {
		t.Errorf("handler ran for %q, want [0 next]", got)
	}
}

func TestPayloadPassthruClient(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	blob := []byte{0x00, 0xff, 0x10, 'w', 'a', 'm', 'p', 0x80}
	ppt := client.PPT("wamp", "cbor", "xsalsa20poly1305", "0xAbC123")
	want := wamp.Dict{"ppt_scheme": "wamp", "ppt_serializer": "cbor", "ppt_cipher": "xsalsa20poly1305", "ppt_keyid": "0xAbC123"}
	checkPPT := func(t *testing.T, what string, d wamp.Dict) {
		t.Helper()
		for k, v := range want {
			if d[k] != v {
				t.Errorf("%s details %v: %s = %v, want %v", what, d, k, d[k], v)
			}
		}
	}
	checkBlob := func(t *testing.T, what string, args wamp.List) {
		t.Helper()
		if len(args) != 1 {
			t.Fatalf("%s args %v, want one binary", what, args)
		}
		if b, ok := args[0].([]byte); !ok || !bytes.Equal(b, blob) {
			t.Errorf("%s payload %#v, want %x unchanged", what, args[0], blob)
		}
	}
	for _, ser := range serializers {
		t.Run(ser, func(t *testing.T) {
			t.Parallel()
			ctx := testCtx(t)
			a := dial(t, srv, "tcp", ser)
			b := dial(t, srv, "ws", "json") // across serializers too

			events := make(chan *client.Event, 1)
			topic := wamp.URI("com.secure." + ser)
			if _, err := b.Subscribe(ctx, topic, func(_ context.Context, ev *client.Event) { events <- ev }); err != nil {
				t.Fatal(err)
			}
			if err := a.Publish(ctx, topic, wamp.List{blob}, nil, ppt, client.Acknowledge()); err != nil {
				t.Fatal(err)
			}
			select {
			case ev := <-events:
				checkPPT(t, "EVENT", ev.Details)
				checkBlob(t, "EVENT", ev.Args)
			case <-ctx.Done():
				t.Fatal("no event")
			}

			// RPC both ways: the callee answers in PPT through Result.Details.
			proc := wamp.URI("com.secure.rpc." + ser)
			if _, err := b.Register(ctx, proc, func(ctx context.Context, inv *client.Invocation) (client.Result, error) {
				checkPPT(t, "INVOCATION", inv.Details)
				checkBlob(t, "INVOCATION", inv.Args)
				return client.Result{Args: inv.Args, Details: wamp.Dict{"ppt_scheme": "x_echo"}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			res, err := a.Call(ctx, proc, wamp.List{blob}, nil, ppt)
			if err != nil {
				t.Fatal(err)
			}
			checkBlob(t, "RESULT", res.Args)
			if res.Details["ppt_scheme"] != "x_echo" {
				t.Errorf("RESULT details %v, want ppt_scheme x_echo", res.Details)
			}
		})
	}

	t.Run("invalid", func(t *testing.T) {
		t.Parallel()
		ctx := testCtx(t)
		s := dial(t, srv, "tcp", "json")
		if err := s.Publish(ctx, "com.x", nil, nil, client.PPT("", "", "", "")); !errors.Is(err, client.ErrInvalidOption) {
			t.Errorf("empty scheme = %v", err)
		}
		if _, err := s.Register(ctx, "com.badppt", func(context.Context, *client.Invocation) (client.Result, error) {
			return client.Result{Details: wamp.Dict{"ppt_keyid": "k"}}, nil
		}); err != nil {
			t.Fatal(err)
		}
		// A handler's ppt_* without a scheme is refused locally (the router
		// would abort the session), as a runtime error for the caller.
		_, err := s.Call(ctx, "com.badppt", nil, nil)
		if !errors.Is(err, &client.Error{URI: wamp.ErrRuntimeError}) || !strings.Contains(err.Error(), "ppt_scheme") {
			t.Errorf("bad handler ppt = %v", err)
		}
	})
}

// TestAdvancedFeatureChecks: against a router that announces no advanced
// feature, the new options fail locally with *FeatureError and nothing is
// sent; HELLO announces the client's side of the features.
func TestAdvancedFeatureChecks(t *testing.T) {
	t.Parallel()
	url := startFake(t, func(f *fakeRouter) {
		hello, ok := f.read().(*wamp.Hello)
		if !ok {
			t.Error("first message is not HELLO")
			return
		}
		roles, _ := wamp.OptDict(hello.Details, "roles")
		for role, features := range map[string][]string{
			"caller":     {"progressive_call_invocations", "payload_passthru_mode"},
			"callee":     {"progressive_call_invocations", "call_canceling", "payload_passthru_mode"},
			"publisher":  {"payload_passthru_mode"},
			"subscriber": {"payload_passthru_mode"},
		} {
			r, _ := wamp.OptDict(roles, role)
			fd, _ := wamp.OptDict(r, "features")
			for _, k := range features {
				if fd[k] != true {
					t.Errorf("HELLO roles.%s.features lacks %s: %v", role, k, fd)
				}
			}
		}
		f.welcomeNoFeatures("joe", "anonymous")
	})
	ctx := testCtx(t)
	s, err := client.Dial(ctx, url, client.Config{Realm: "realm1"})
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name, feature string
		err           error
	}{
		{"Publish Retain", "event_retention", s.Publish(ctx, "com.x", nil, nil, client.Retain())},
		{"Subscribe GetRetained", "event_retention", func() error {
			_, err := s.Subscribe(ctx, "com.x", func(context.Context, *client.Event) {}, client.GetRetained())
			return err
		}()},
		{"Publish PPT", "payload_passthru_mode", s.Publish(ctx, "com.x", nil, nil, client.PPT("x", "", "", ""))},
		{"Call PPT", "payload_passthru_mode", func() error {
			_, err := s.Call(ctx, "com.x", nil, nil, client.PPT("x", "", "", ""))
			return err
		}()},
		{"CallProgressive", "progressive_call_invocations", func() error {
			_, err := s.CallProgressive(ctx, "com.x")
			return err
		}()},
		{"Retain on Subscribe", "", func() error {
			_, err := s.Subscribe(ctx, "com.x", func(context.Context, *client.Event) {}, client.Retain())
			return err
		}()},
	}
	for _, c := range checks {
		if c.feature == "" {
			if !errors.Is(c.err, client.ErrInvalidOption) {
				t.Errorf("%s = %v, want ErrInvalidOption", c.name, c.err)
			}
			continue
		}
		var fe *client.FeatureError
		if !errors.As(c.err, &fe) || fe.Feature != c.feature || !errors.Is(c.err, client.ErrUnsupported) {
			t.Errorf("%s = %v, want *FeatureError for %s", c.name, c.err, c.feature)
		}
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}
