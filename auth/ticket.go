package auth

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// TicketPrincipal is one static ticket user.
type TicketPrincipal struct {
	// Ticket is the secret: plain text, an argon2id PHC string
	// ("$argon2id$v=19$..." as made by HashPassword / `tollgate passwd`)
	// or a bcrypt hash ("$2a$", "$2b$", "$2y$"). Required.
	Ticket string
	// Role is the authrole granted. Empty: the session is refused with
	// wamp.error.no_such_role after a correct ticket.
	Role string
	// Realm, if set, is the realm the session joins instead of the one it
	// asked for.
	Realm wamp.URI
}

// TicketConfig configures static ticket authentication.
type TicketConfig struct {
	// Principals by authid (Crossbar key "principals").
	Principals map[string]TicketPrincipal
}

// Ticket is the static "ticket" authenticator. It is safe for concurrent
// use.
//
// Every HELLO with an authid gets CHALLENGE [4, "ticket", {}], known or
// not; the AUTHENTICATE of an unknown authid fails with Denied after
// verifying the ticket against some configured hash (when there is one), so
// neither the answer nor its timing tells whether the authid exists.
type Ticket struct {
	principals map[string]TicketPrincipal
	// decoy is a stored hash checked for unknown authids (the slowest kind
	// configured), "" if all tickets are plain.
	decoy string
}

// NewTicket builds a static ticket authenticator. Hashed tickets are
// parsed up front; errors name the field, e.g.
// `principals["alice"].ticket: auth: malformed password hash: ...`.
func NewTicket(cfg TicketConfig) (*Ticket, error) {
	a := &Ticket{principals: make(map[string]TicketPrincipal, len(cfg.Principals))}
	var errs []error
	for _, id := range sortedKeys(cfg.Principals) {
		p := cfg.Principals[id]
		path := fmt.Sprintf("principals[%q]", id)
		switch {
		case id == "":
			errs = append(errs, fmt.Errorf("%s: empty authid", path))
			continue
		case p.Ticket == "":
			errs = append(errs, fmt.Errorf("%s.ticket: empty", path))
			continue
		}
		if err := ValidateHash(p.Ticket); err != nil {
			errs = append(errs, fmt.Errorf("%s.ticket: %w", path, err))
			continue
		}
		a.principals[id] = p
		if IsHashed(p.Ticket) && (a.decoy == "" || isBcrypt(a.decoy)) {
			a.decoy = p.Ticket // prefer an argon2id hash: usually the costlier one
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("auth: ticket: %w", errors.Join(errs...))
	}
	return a, nil
}

// Method returns "ticket".
func (a *Ticket) Method() string { return MethodTicket }

// ticketChallenge is a fresh CHALLENGE [4, "ticket", {}] (fresh, so a
// router that adds to Extra cannot affect another handshake).
func ticketChallenge() *wamp.Challenge {
	return &wamp.Challenge{AuthMethod: MethodTicket, Extra: wamp.Dict{}}
}

// Hello answers with CHALLENGE [4, "ticket", {}]. The client must give an
// authid.
func (a *Ticket) Hello(_ context.Context, req *Request) (*Identity, *wamp.Challenge, Pending, error) {
	if req.AuthID == "" {
		return nil, nil, nil, &Error{Reason: wamp.ErrAuthenticationFailed, Message: "ticket authentication needs an authid in HELLO"}
	}
	return nil, ticketChallenge(), &ticketPending{a: a, req: *req}, nil
}

type ticketPending struct {
	a    *Ticket
	req  Request
	used atomic.Bool
}

// Authenticate checks the ticket (AUTHENTICATE.Signature).
func (p *ticketPending) Authenticate(ctx context.Context, m *wamp.Authenticate) (*Identity, error) {
	if p.used.Swap(true) {
		return nil, errAnswered
	}
	pr, known := p.a.principals[p.req.AuthID]
	stored := pr.Ticket
	if !known {
		stored = p.a.decoy
	}
	ok, err := verifyPassword(ctx, stored, m.Signature)
	if err != nil {
		// The handshake ended while waiting for a hash slot, or (hashes
		// were validated in NewTicket, so never) a malformed hash: either
		// way tell the client no more than a wrong ticket would.
		return nil, Denied()
	}
	if !ok || !known {
		return nil, Denied()
	}
	if pr.Role == "" {
		return nil, noRole(p.req.AuthID)
	}
	realm := p.req.Realm
	if pr.Realm != "" {
		realm = pr.Realm
	}
	return &Identity{
		Realm: realm, AuthID: p.req.AuthID, AuthRole: pr.Role,
		AuthMethod: MethodTicket, AuthProvider: ProviderStatic,
		// Crossbar echoes the client's HELLO authextra for static ticket.
		AuthExtra: copyDict(p.req.AuthExtra),
	}, nil
}
