package router_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/routertest"
	"github.com/tollgate-wamp/tollgate/wamp"
)

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	pub := dialPeer(t, srv, "ws", "json")
	pub.join()
	a := dialPeer(t, srv, "tcp", "msgpack")
	a.join()
	b := dialPeer(t, srv, "unix", "cbor")
	b.join()

	subA := a.subscribe("com.example.topic", wamp.Dict{})
	subB := b.subscribe("com.example.topic", wamp.Dict{"match": "exact"})
	if subA != subB {
		t.Errorf("subscribers of one topic got different subscription ids %d, %d", subA, subB)
	}
	if again := a.subscribe("com.example.topic", wamp.Dict{}); again != subA {
		t.Errorf("subscribing twice gave id %d, want %d", again, subA)
	}
	// The publisher is subscribed too but excluded by default.
	pub.subscribe("com.example.topic", wamp.Dict{})

	kwargs := wamp.Dict{"n": int64(-7), "f": 1.5, "bin": []byte{0, 1, 255}, "nested": wamp.Dict{"l": wamp.List{"x", nil, true}}}
	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{"acknowledge": true}, Topic: "com.example.topic",
		Payload: wamp.Payload{Args: wamp.List{"hello", int64(42)}, Kwargs: kwargs}})
	published := expect[*wamp.Published](pub)
	for _, p := range []*peer{a, b} {
		ev := expect[*wamp.Event](p)
		if ev.Subscription != subA || ev.Publication != published.Publication {
			t.Errorf("EVENT sub %d pub %d, want %d %d", ev.Subscription, ev.Publication, subA, published.Publication)
		}
		deepEqual(t, p.c.Name()+" args", argsOf(t, &ev.Payload), wamp.List{"hello", int64(42)})
		deepEqual(t, p.c.Name()+" kwargs", kwargsOf(t, &ev.Payload), kwargs)
		if _, disclosed := ev.Details["publisher"]; disclosed {
			t.Errorf("publisher disclosed without disclose_me: %v", ev.Details)
		}
	}
	pub.expectNothing(100 * time.Millisecond)

	// exclude_me false: the publisher gets its own event; disclose_me.
	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{"exclude_me": false, "disclose_me": true}, Topic: "com.example.topic"})
	for _, p := range []*peer{pub, a, b} {
		ev := expect[*wamp.Event](p)
		if id, _ := wamp.OptID(ev.Details, "publisher"); id != pub.id {
			t.Errorf("EVENT.Details.publisher = %v, want %d", ev.Details["publisher"], pub.id)
		}
	}

	// Unsubscribe: a stops receiving; b still receives.
	req := a.next()
	a.send(&wamp.Unsubscribe{Request: req, Subscription: subA})
	if u := expect[*wamp.Unsubscribed](a); u.Request != req {
		t.Errorf("UNSUBSCRIBED request %d, want %d", u.Request, req)
	}
	req = a.next()
	a.send(&wamp.Unsubscribe{Request: req, Subscription: subA})
	a.expectError(wamp.TypeUnsubscribe, req, wamp.ErrNoSuchSubscription)
	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{}, Topic: "com.example.topic"})
	expect[*wamp.Event](b)
	a.expectNothing(100 * time.Millisecond)
}

func TestPublishErrors(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	p := dialPeer(t, srv, "tcp", "json")
	p.join()
	cases := []struct {
		topic wamp.URI
		opts  wamp.Dict
		uri   wamp.URI
	}{
		{"Com.Example", wamp.Dict{}, wamp.ErrInvalidURI},
		{"com..example", wamp.Dict{}, wamp.ErrInvalidURI},
		{"wamp.session.on_join", wamp.Dict{}, wamp.ErrInvalidURI},
		{"com.example", wamp.Dict{"exclude": "all"}, wamp.ErrInvalidArgument},
		{"com.example", wamp.Dict{"eligible_authid": wamp.List{1}}, wamp.ErrInvalidArgument},
		{"com.example", wamp.Dict{"exclude_me": "no"}, wamp.ErrInvalidArgument},
	}
	for _, c := range cases {
		req := p.next()
		c.opts["acknowledge"] = true
		p.send(&wamp.Publish{Request: req, Options: c.opts, Topic: c.topic})
		p.expectError(wamp.TypePublish, req, c.uri)
	}
	// Without acknowledge a bad publish gets no answer; the session lives on.
	p.send(&wamp.Publish{Request: p.next(), Options: wamp.Dict{}, Topic: "Bad Topic"})
	p.expectNothing(100 * time.Millisecond)
	p.subscribe("com.ok", wamp.Dict{})
}

func TestSubscribeErrors(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	p := dialPeer(t, srv, "tcp", "cbor")
	p.join()
	for _, c := range []struct {
		topic wamp.URI
		opts  wamp.Dict
		uri   wamp.URI
	}{
		{"com..x", wamp.Dict{}, wamp.ErrInvalidURI},
		{"com.x", wamp.Dict{"match": "regex"}, wamp.ErrInvalidArgument},
		{"com.x", wamp.Dict{"match": 3}, wamp.ErrInvalidArgument},
		{"com..x.", wamp.Dict{"match": "prefix"}, wamp.ErrInvalidURI},
	} {
		req := p.next()
		p.send(&wamp.Subscribe{Request: req, Options: c.opts, Topic: c.topic})
		p.expectError(wamp.TypeSubscribe, req, c.uri)
	}
}

func TestPatternSubscriptions(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	pub := dialPeer(t, srv, "tcp", "json")
	pub.join()
	sub := dialPeer(t, srv, "tcp", "json")
	sub.join()
	prefix := sub.subscribe("com.example", wamp.Dict{"match": "prefix"})
	wild := sub.subscribe("com..update", wamp.Dict{"match": "wildcard"})

	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{}, Topic: "com.example.user.update"})
	got := map[wamp.ID]string{}
	for range 1 {
		ev := expect[*wamp.Event](sub)
		got[ev.Subscription], _ = wamp.OptString(ev.Details, "topic")
	}
	deepEqual(t, "prefix events", got, map[wamp.ID]string{prefix: "com.example.user.update"})

	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{}, Topic: "com.example.update"})
	got = map[wamp.ID]string{}
	for range 2 {
		ev := expect[*wamp.Event](sub)
		got[ev.Subscription], _ = wamp.OptString(ev.Details, "topic")
	}
	deepEqual(t, "events", got, map[wamp.ID]string{prefix: "com.example.update", wild: "com.example.update"})
	// Prefixes match byte strings, not whole components (spec §12.5).
	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{}, Topic: "com.examples"})
	ev := expect[*wamp.Event](sub)
	deepEqual(t, "byte-prefix event", ev.Subscription, prefix)
	pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{}, Topic: "com.exampl"})
	sub.expectNothing(100 * time.Millisecond)
}

func TestBlackWhiteListing(t *testing.T) {
	t.Parallel()
	srv := routertest.Start(t)
	pub := dialPeer(t, srv, "tcp", "json")
	pub.join()
	subs := make([]*peer, 3)
	for i := range subs {
		subs[i] = dialPeer(t, srv, "tcp", "msgpack")
		subs[i].join()
		subs[i].subscribe("com.news", wamp.Dict{})
	}
	for i, c := range []struct {
		opts wamp.Dict
		want []bool
	}{
		{wamp.Dict{"exclude": wamp.List{subs[0].id}}, []bool{false, true, true}},
		{wamp.Dict{"eligible": wamp.List{subs[0].id, subs[2].id}}, []bool{true, false, true}},
		{wamp.Dict{"eligible": wamp.List{subs[0].id, subs[2].id}, "exclude": wamp.List{subs[2].id}}, []bool{true, false, false}},
		{wamp.Dict{"eligible_authrole": wamp.List{"anonymous"}}, []bool{true, true, true}},
		{wamp.Dict{"exclude_authrole": wamp.List{"anonymous"}}, []bool{false, false, false}},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			pub.send(&wamp.Publish{Request: pub.next(), Options: c.opts, Topic: "com.news", Payload: wamp.Payload{Args: wamp.List{int64(i)}}})
			// A marker publication to everyone tells "nothing arrived" apart from "late".
			pub.send(&wamp.Publish{Request: pub.next(), Options: wamp.Dict{}, Topic: "com.news", Payload: wamp.Payload{Args: wamp.List{"marker"}}})
			for j, s := range subs {
				ev := expect[*wamp.Event](s)
				gotFirst := argsOf(t, &ev.Payload)[0] != "marker"
				if gotFirst != c.want[j] {
					t.Errorf("subscriber %d received=%v, want %v", j, gotFirst, c.want[j])
				}
				if gotFirst {
					expect[*wamp.Event](s) // the marker
				}
			}
		})
	}
}
