package router_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/internal/testcert"
	"github.com/tollgate-wamp/tollgate/router"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TLS for WebSocket (wss://), RawSocket (tls://) and a universal listener,
// through the Go client; a client that does not trust the certificate fails.
func TestTLSTransports(t *testing.T) {
	t.Parallel()
	certs := testcert.New(t)
	r, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "realm1"}}})
	if err != nil {
		t.Fatal(err)
	}
	serve := func(tr router.Transport) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go r.ServeTransport(tls.NewListener(ln, certs.Server), tr)
		return ln.Addr().String()
	}
	wss := serve(router.Transport{WebSocket: map[string]router.WebSocketOptions{"/ws": {}}})
	raw := serve(router.Transport{RawSocket: &router.RawSocketOptions{}})
	universal := serve(router.DefaultTransport())
	defer r.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, u := range []string{"wss://" + wss + "/ws", "tls://" + raw, "wss://" + universal + "/ws", "tls://" + universal} {
		t.Run(u, func(t *testing.T) {
			s, err := client.Dial(ctx, u, client.Config{Realm: "realm1", Serializer: "cbor", TLSConfig: certs.Client})
			if err != nil {
				t.Fatalf("Dial %s: %v", u, err)
			}
			if _, err := s.Register(ctx, "com.example.ping", func(context.Context, *client.Invocation) (client.Result, error) {
				return client.Result{Args: wamp.List{"pong"}}, nil
			}); err != nil {
				t.Fatal(err)
			}
			res, err := s.Call(ctx, "com.example.ping", nil, nil)
			if err != nil || len(res.Args) != 1 || res.Args[0] != "pong" {
				t.Fatalf("Call = %v, %v", res, err)
			}
			s.Close(ctx)

			untrusting := &tls.Config{ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
			if _, err := client.Dial(ctx, u, client.Config{Realm: "realm1", TLSConfig: untrusting}); err == nil {
				t.Fatal("a client that does not trust the certificate connected")
			}
		})
	}
}

// A realm with uri_check loose accepts URIs the strict check refuses.
func TestLooseURICheck(t *testing.T) {
	t.Parallel()
	r, err := router.New(router.Options{Realms: []router.RealmOptions{{Name: "strict"}, {Name: "loose", URICheck: "loose"}}})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go r.Serve(ln)
	defer r.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for realm, wantErr := range map[string]bool{"strict": true, "loose": false} {
		s, err := client.Dial(ctx, "tcp://"+ln.Addr().String(), client.Config{Realm: wamp.URI(realm)})
		if err != nil {
			t.Fatal(err)
		}
		_, err = s.Subscribe(ctx, "Com.Example-Topic", func(context.Context, *client.Event) {})
		if (err != nil) != wantErr {
			t.Errorf("realm %s: Subscribe(Com.Example-Topic) error = %v, want error %v", realm, err, wantErr)
		}
		var ce *client.Error
		if wantErr && (!errors.As(err, &ce) || ce.URI != wamp.ErrInvalidURI) {
			t.Errorf("realm %s: error %v, want %s", realm, err, wamp.ErrInvalidURI)
		}
		s.Close(ctx)
	}
}
