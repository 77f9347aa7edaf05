package auth_test

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/auth"
)

func TestNew(t *testing.T) {
	t.Parallel()
	_, pub := cryptosignKey(t, 1)
	caller := &recorder{}
	good := []struct {
		m    auth.MethodConfig
		want any
	}{
		{auth.MethodConfig{Method: "anonymous", Type: "static"}, &auth.Anonymous{}},
		{auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"a": {Ticket: "t", Role: "r"}}}}, &auth.Ticket{}},
		{auth.MethodConfig{Method: "wampcra", Type: "static", WAMPCRA: auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{"a": {Secret: "s", Role: "r"}}}}, &auth.WAMPCRA{}},
		{auth.MethodConfig{Method: "cryptosign", Type: "static", Cryptosign: auth.CryptosignConfig{Principals: map[string]auth.CryptosignPrincipal{"a": {AuthorizedKeys: []string{pub}, Role: "r"}}}}, &auth.Cryptosign{}},
		{auth.MethodConfig{Method: "tls", Type: "static", TLS: auth.TLSConfig{Principals: map[string]auth.TLSPrincipal{"a": {CertificateSHA1: strings.Repeat("00", 20), Role: "r"}}}}, &auth.TLS{}},
		{auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.auth", Timeout: time.Second}}, &auth.Dynamic{}},
	}
	for _, g := range good {
		a, err := auth.New(g.m, caller)
		if err != nil {
			t.Fatalf("New(%s %s): %v", g.m.Type, g.m.Method, err)
		}
		if a.Method() != g.m.Method {
			t.Errorf("Method() = %q, want %q", a.Method(), g.m.Method)
		}
		if got, want := reflect.TypeOf(a), reflect.TypeOf(g.want); got != want {
			t.Errorf("New(%s %s) = %v, want %v", g.m.Type, g.m.Method, got, want)
		}
	}
	bad := []struct {
		m    auth.MethodConfig
		want string
	}{
		{auth.MethodConfig{Method: "ticket"}, "auth: ticket: type: empty (want static or dynamic)"},
		{auth.MethodConfig{Method: "ticket", Type: "function"}, `auth: ticket: type: "function" is not static or dynamic`},
		{auth.MethodConfig{Type: "static"}, "auth: method: empty"},
		{auth.MethodConfig{Method: "scram", Type: "static"}, `auth: method: unknown "scram"`},
		{auth.MethodConfig{Method: "ticket", Type: "static", Ticket: auth.TicketConfig{Principals: map[string]auth.TicketPrincipal{"a": {}}}}, `auth: ticket: principals["a"].ticket: empty`},
		{auth.MethodConfig{Method: "wampcra", Type: "dynamic"}, "auth: wampcra dynamic: authenticator: empty"},
	}
	for _, b := range bad {
		a, err := auth.New(b.m, caller)
		if err == nil || a != nil {
			t.Fatalf("New(%+v) = %v, %v; want a nil Authenticator and an error", b.m, a, err)
		}
		if !strings.Contains(err.Error(), b.want) {
			t.Errorf("error %q does not contain %q", err, b.want)
		}
	}
}

func TestNewDynamicWithoutCaller(t *testing.T) {
	t.Parallel()
	_, err := auth.New(auth.MethodConfig{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.auth"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "no Caller") {
		t.Fatalf("error %v, want no Caller", err)
	}
}

func TestNewSet(t *testing.T) {
	t.Parallel()
	set, err := auth.NewSet([]auth.MethodConfig{
		{Method: "anonymous", Type: "static"},
		{Method: "ticket", Type: "dynamic", Dynamic: auth.DynamicConfig{Authenticator: "com.example.auth"}},
	}, &recorder{})
	if err != nil || len(set) != 2 || set["anonymous"] == nil || set["ticket"] == nil {
		t.Fatalf("NewSet = %v, %v", set, err)
	}
	_, err = auth.NewSet([]auth.MethodConfig{
		{Method: "anonymous", Type: "static"},
		{Method: "anonymous", Type: "static"},
		{Method: "wampcra", Type: "static", WAMPCRA: auth.WAMPCRAConfig{Users: map[string]auth.WAMPCRAUser{"u": {}}}},
	}, nil)
	if err == nil || !strings.Contains(err.Error(), "auth: anonymous: configured twice") || !strings.Contains(err.Error(), `users["u"].secret: empty`) {
		t.Fatalf("error %v: want both problems", err)
	}
}
