package interop

import (
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tollgate-wamp/tollgate/client"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// TestNullRealm: a HELLO without a realm (Autobahn|Python sends null when
// the app names none; our Go client with an empty Config.Realm) is placed
// by the dynamic authenticator's answer (pinned to realm auth, trusted for
// myrealm) or by the static principal's configured realm; with neither,
// ABORT wamp.error.no_such_realm says why (issue 14 part 2).
func TestNullRealm(t *testing.T) {
	t.Parallel()
	py, err := pythonBin()
	if err != nil {
		t.Fatal(err)
	}
	r := startRouterWith(t, "trust.yaml", []string{"backdoor", "dynamic", "static"})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	backend, err := client.Dial(ctx, r.wsURL("backdoor"), client.Config{Realm: "auth"})
	if err != nil {
		t.Fatal(err)
	}
	defer backend.Close(context.Background())
	_, err = backend.Register(ctx, "com.trust.authenticate", func(_ context.Context, inv *client.Invocation) (client.Result, error) {
		details, _ := inv.Args[2].(wamp.Dict)
		if inv.Args[0] != "" || details["ticket"] != "carol-ticket" {
			return client.Result{}, client.NewError(wamp.ErrAuthenticationFailed, "wrong user name or password")
		}
		return client.Result{Args: wamp.List{wamp.Dict{"realm": "myrealm", "role": "user"}}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		url, authid, ticket string
		want                outcome
	}{
		{r.wsURL("dynamic"), "carol", "carol-ticket", outcome{Realm: "myrealm", AuthID: "carol", AuthRole: "user"}},
		{r.tcpURL("static"), "alice", "alice-ticket", outcome{Realm: "myrealm", AuthID: "alice", AuthRole: "user"}},
		{r.tcpURL("static"), "nobody", "nobody-ticket", outcome{Error: "wamp.error.no_such_realm: HELLO names no realm, and ticket authentication chose none"}},
	}
	for _, c := range cases {
		// The Go client.
		var got outcome
		s, err := client.Dial(ctx, c.url, client.Config{AuthID: c.authid, Auth: []client.Authenticator{client.Ticket(c.ticket)}})
		if err != nil {
			var ae *client.AbortError
			if !errors.As(err, &ae) {
				t.Fatalf("go %s: %v", c.authid, err)
			}
			got.Error = string(ae.Reason) + ": " + ae.Message
		} else {
			info := s.Info()
			got = outcome{Realm: string(info.Realm), AuthID: info.AuthID, AuthRole: info.AuthRole}
			s.Close(context.Background())
		}
		checkNullRealm(t, "go", c.authid, got, c.want)

		// Autobahn|Python, ComponentConfig(realm=None).
		out, err := exec.CommandContext(ctx, py, filepath.Join("python", "null_realm.py"), c.url, c.authid, c.ticket).CombinedOutput()
		if err != nil {
			t.Fatalf("python %s: %v\n%s", c.authid, err, out)
		}
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		var line outcome
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &line); err != nil {
			t.Fatalf("python %s: %v\n%s", c.authid, err, out)
		}
		checkNullRealm(t, "python", c.authid, line, c.want)
	}
}

// outcome is a login's result: the session's identity, or the ABORT.
type outcome struct{ Realm, AuthID, AuthRole, Error string }

func checkNullRealm(t *testing.T, who, authid string, got, want outcome) {
	t.Helper()
	if want.Error != "" {
		if !strings.HasPrefix(got.Error, want.Error) {
			t.Errorf("%s %s: got %+v, want ABORT %q", who, authid, got, want.Error)
		}
		return
	}
	if got != want {
		t.Errorf("%s %s: got %+v, want %+v", who, authid, got, want)
	}
}
