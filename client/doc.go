// Package client is a Go WAMP v2 client: it connects to a router over
// WebSocket (ws://, wss://) or RawSocket (tcp://, tls://, unix://) with a
// JSON, MessagePack or CBOR serializer, joins a realm (anonymous, ticket,
// WAMP-CRA or Cryptosign authentication) and offers Call, Publish,
// Subscribe and Register with the advanced options the router announces,
// including event retention (Retain, GetRetained), payload passthru mode
// (PPT) and progressive call invocations (CallProgressive, NextChunk).
//
// Handlers are plain functions (HandlerFunc, EventFunc) or typed Go
// functions whose parameters are decoded from the call's positional and
// keyword arguments. A Registry collects handlers before connecting and is
// attached to a session (and again after each reconnect).
//
// Every blocking method takes a context.Context. Errors from the router or
// a callee are *Error values carrying the WAMP error URI and payload; a
// refused join is an *AbortError; sentinels (ErrSessionClosed,
// ErrUnsupported, ErrInvalidOption) are for errors.Is.
//
// A Session runs one reader, one writer and one dispatcher goroutine, plus
// one goroutine per running handler (bounded by
// Config.MaxConcurrentHandlers). Close stops all of them.
package client

// The code reads in one direction, from Dial down:
//
//	session.go     Session: Dial, reconnect, Close
//	join.go        connect: dial the transport (dial.go), HELLO … WELCOME
//	link.go        link: one router session, its goroutines and read loop (route)
//	request.go     request ids, waiters (pending), send, await, deliver
//	call.go        Call; stream.go: CallProgressive
//	pubsub.go      Publish, Subscribe, event dispatch
//	callee.go      Register, running an invocation; invocation.go: its state and input chunks
//	registry.go    Registry, Attach
//	options.go     request Options; handler.go, decode.go, normalize.go: typed handlers and values
//	types.go, errors.go, config.go, auth.go: public types, errors, Config, authenticators
