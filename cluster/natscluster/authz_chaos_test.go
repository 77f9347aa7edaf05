//go:build clusterchaos

package natscluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// authzNodeConfig is nodeConfig with a role "user" decided by the dynamic
// authorizer on com.test.authorize (3 s timeout) and three listeners:
// anonymous backend, anonymous user, and a dynamic ticket login asking
// com.test.authenticate (3 s timeout).
const authzNodeConfig = `version: 2
cluster:
  node_name: %s
  nats:
    embedded:
      cluster_name: tollgate-chaos
      listen: 127.0.0.1:%d
      routes: [%s]
workers:
  - type: router
    realms:
      - name: realm1
        roles:
          - name: backend
            permissions:
              - uri: ""
                match: prefix
                allow: {call: true, register: true, publish: true, subscribe: true}
          - name: user
            authorizer: com.test.authorize
            timeout: 3000
    transports:
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: %d}
        auth:
          anonymous: {type: static, role: backend}
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: %d}
        auth:
          anonymous: {type: static, role: user}
      - type: rawsocket
        endpoint: {type: tcp, interface: 127.0.0.1, port: %d}
        auth:
          ticket: {type: dynamic, authenticator: com.test.authenticate, timeout: 3000}
`

// TestProcessAuthorizerSIGKILL: §8 row 13 with real processes. The
// authorizer and the authenticator run on node C; C is SIGKILLed with a
// decision and a login from A pending: both fail closed within the 3 s
// timeout; new decisions and logins on A and B fail closed until B
// registers the procedures, then they work.
func TestProcessAuthorizerSIGKILL(t *testing.T) {
	const timeout = 3 * time.Second
	ps := startProcessesWith(t, 3, 3, func(name string, nats int, routes string, ports []int) string {
		return fmt.Sprintf(authzNodeConfig, name, nats, routes, ports[0], ports[1], ports[2])
	})
	urls := make([]authzURLs, len(ps))
	for i, p := range ps {
		urls[i] = authzURLs{p.urls[0], p.urls[1], p.urls[2]}
		dialURL(t, p.url) // waits for the process to listen
	}
	p := newBackendProcs(t)
	serveProcs(t, urls[2], p)
	register(t, mustDial(t, urls[0].backend), "com.test.echo", nop)
	user := mustDial(t, urls[0].user)
	ctx := context.Background()
	waitFor(t, "a call from A authorized on C", func() bool {
		_, err := user.Call(ctx, "com.test.echo", nil, nil)
		return err == nil
	})
	waitFor(t, "a login on A authenticated on C", func() bool {
		_, err := ticketLogin(t, urls[0].login)
		return err == nil
	})
	pendingFailClosed(t, p, user, urls[0].login, timeout, func() {
		if err := ps[2].cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
	})
	for _, u := range urls[:2] {
		newFailClosed(t, u, timeout)
	}
	serveProcs(t, urls[1], newBackendProcs(t))
	start := time.Now()
	waitFor(t, "a call from A authorized on B", func() bool {
		_, err := user.Call(ctx, "com.test.echo", nil, nil)
		return err == nil
	})
	waitFor(t, "a login on A authenticated on B", func() bool {
		_, err := ticketLogin(t, urls[0].login)
		return err == nil
	})
	t.Logf("decisions and logins work again %v after B registered", time.Since(start))
}
