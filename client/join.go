package client

import (
	"context"
	"fmt"

	"github.com/tollgate-wamp/tollgate/transport"
	"github.com/tollgate-wamp/tollgate/wamp"
)

// connect dials the transport and joins the realm.
func (s *Session) connect(ctx context.Context) (*link, error) {
	conn, err := dialTransport(ctx, s.url, s.purl, &s.cfg)
	if err != nil {
		return nil, fmt.Errorf("client: connecting to %s: %w", s.url, err)
	}
	info, err := s.join(ctx, conn)
	if err != nil {
		_ = conn.Close()
		return nil, err
	}
	return newLink(s, conn, info), nil
}

// join runs the opening handshake on conn: HELLO, any CHALLENGE and
// AUTHENTICATE rounds, then WELCOME (or ABORT).
func (s *Session) join(ctx context.Context, conn transport.Conn) (SessionInfo, error) {
	cd := conn.Codec()
	details, err := s.helloDetails()
	if err != nil {
		return SessionInfo{}, err
	}
	write := func(m wamp.Message) error {
		b, err := cd.Encode(nil, m)
		if err != nil {
			return fmt.Errorf("client: encoding %v: %w", m.MessageType(), err)
		}
		if err := conn.Write(ctx, [][]byte{b}); err != nil {
			return fmt.Errorf("client: sending %v: %w", m.MessageType(), err)
		}
		return nil
	}
	abort := func(reason wamp.URI, err error) error {
		_ = write(&wamp.Abort{Details: wamp.Dict{"message": err.Error()}, Reason: reason})
		return err
	}
	if err := write(&wamp.Hello{Realm: s.cfg.Realm, Details: details}); err != nil {
		return SessionInfo{}, err
	}
	for {
		data, err := conn.Read(ctx)
		if err != nil {
			return SessionInfo{}, fmt.Errorf("client: joining %s: %w", s.cfg.Realm, err)
		}
		m, err := cd.Decode(data)
		if err != nil {
			return SessionInfo{}, abort(wamp.ErrProtocolViolation, fmt.Errorf("client: bad message from router: %w", err))
		}
		switch m := m.(type) {
		case *wamp.Welcome:
			return infoFromWelcome(s.cfg.Realm, m), nil
		case *wamp.Abort:
			return SessionInfo{}, abortError(m)
		case *wamp.Challenge:
			var a Authenticator
			for _, c := range s.cfg.Auth {
				if c.Method() == m.AuthMethod {
					a = c
					break
				}
			}
			if a == nil {
				return SessionInfo{}, abort(wamp.ErrProtocolViolation,
					fmt.Errorf("client: router challenged with method %q, which was not offered", m.AuthMethod))
			}
			info := conn.Info()
			sig, extra, err := a.Authenticate(ctx, &Challenge{Method: m.AuthMethod, Extra: m.Extra, TLS: info.TLS})
			if err != nil {
				return SessionInfo{}, abort(wamp.ErrAuthenticationFailed, fmt.Errorf("client: %s authentication: %w", m.AuthMethod, err))
			}
			if extra == nil {
				extra = wamp.Dict{}
			}
			if err := write(&wamp.Authenticate{Signature: sig, Extra: extra}); err != nil {
				return SessionInfo{}, err
			}
		default:
			return SessionInfo{}, abort(wamp.ErrProtocolViolation,
				fmt.Errorf("client: unexpected %v while joining", m.MessageType()))
		}
	}
}

// helloDetails builds HELLO.Details from the configuration.
func (s *Session) helloDetails() (wamp.Dict, error) {
	details := wamp.Dict{"roles": helloRoles(), "agent": s.cfg.Agent}
	extra := wamp.Dict{}
	for k, v := range s.cfg.AuthExtra {
		extra[k] = v
	}
	if len(s.cfg.Auth) > 0 {
		methods := make(wamp.List, len(s.cfg.Auth))
		for i, a := range s.cfg.Auth {
			methods[i] = a.Method()
			for k, v := range a.HelloExtra() {
				extra[k] = v
			}
		}
		details["authmethods"] = methods
	}
	if len(extra) > 0 {
		nx, err := normalizeDict(extra)
		if err != nil {
			return nil, fmt.Errorf("client: Config.AuthExtra: %w", err)
		}
		details["authextra"] = nx
	}
	if s.cfg.AuthID != "" {
		details["authid"] = s.cfg.AuthID
	}
	if s.cfg.AuthRole != "" {
		details["authrole"] = s.cfg.AuthRole
	}
	return details, nil
}

// abortError is the error for an ABORT from the router.
func abortError(m *wamp.Abort) *AbortError {
	msg, _ := wamp.OptString(m.Details, "message")
	args, kwargs, _ := m.Values()
	return &AbortError{Reason: m.Reason, Message: msg, Details: m.Details, Args: args, Kwargs: kwargs}
}
