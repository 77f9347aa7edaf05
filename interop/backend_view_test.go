package interop

import (
	"context"
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestBackendViewWithPythonBackend: an Autobahn|Python authenticator and
// authorizer written the Crossbar way read what the router established
// under Crossbar's names, while a Go client's lies in HELLO authextra stay
// under client and only the allow-listed upgrade header arrives (issue 18
// part 5; docs/dynamic-auth.md, "What the backend is told").
func TestBackendViewWithPythonBackend(t *testing.T) {
	t.Parallel()
	py, err := pythonBin()
	if err != nil {
		t.Fatal(err)
	}
	r := startRouterWith(t, "backend_view.yaml", []string{"backdoor", "front"})
	startPython(t, py, "backend_view.py", r.wsURL("backdoor"))

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lie := wamp.Dict{"authid": "root", "authrole": "admin", "authprovider": "static"}
	s, err := client.Dial(ctx, r.wsURL("front"), client.Config{
		Realm: "realm1", AuthID: "mallory", AuthExtra: lie, Auth: []client.Authenticator{client.Ticket("anything")},
		HTTPHeader: http.Header{"X-Forwarded-For": {"10.1.2.3"}, "Cookie": {"session=secret"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	res, err := s.Call(ctx, "com.view.seen", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	seen, _ := res.Arg(0).(wamp.Dict)
	crossbar, _ := seen["crossbar"].(wamp.Dict)
	authn, _ := seen["authn"].(wamp.Dict)
	authz, _ := seen["authz"].(wamp.Dict)

	if id, _ := wamp.AsInt(crossbar["session"]); wamp.ID(id) != s.ID() {
		t.Errorf("authorizer session %v, want %d", crossbar["session"], s.ID())
	}
	for k, want := range map[string]any{"authid": "alice", "authrole": "user", "authmethod": "ticket", "authprovider": "dynamic",
		"authextra": wamp.Dict{"tenant": "t1"}, "forwarded_for": "10.1.2.3", "cookie": nil} {
		if !reflect.DeepEqual(crossbar[k], want) {
			t.Errorf("the Crossbar-style authorizer read %s = %#v, want %#v", k, crossbar[k], want)
		}
	}
	if c, _ := authz["client"].(wamp.Dict); !reflect.DeepEqual(c["authextra"], lie) {
		t.Errorf("authorizer client %v, want authextra %v", authz["client"], lie)
	}
	if c, _ := authn["client"].(wamp.Dict); c["authid"] != "mallory" || !reflect.DeepEqual(c["authextra"], lie) {
		t.Errorf("authenticator client %v", authn["client"])
	}
	if !reflect.DeepEqual(authn["authextra"], lie) || authn["authid"] != "mallory" || authn["authprovider"] != "dynamic" {
		t.Errorf("authenticator details %v: Crossbar's names hold the client's choices", authn)
	}
	tr, _ := authn["transport"].(wamp.Dict)
	if h := tr["http_headers_received"]; !reflect.DeepEqual(h, wamp.Dict{"x-forwarded-for": "10.1.2.3"}) {
		t.Errorf("authenticator headers %v, want x-forwarded-for only", h)
	}
}
