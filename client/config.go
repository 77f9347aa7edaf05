package client

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
	"github.com/tollgate-wamp/tollgate/wamp/codec"
)

// Config configures Dial. The zero value of every field means the
// documented default; Dial copies the struct and never modifies it.
type Config struct {
	// Realm to join. Empty: HELLO names none (null, as Autobahn sends it)
	// and the router chooses, from a static principal's realm or a dynamic
	// authenticator's answer; SessionInfo.Realm says which.
	Realm wamp.URI

	// Serializer is the codec name: "json" (default), "msgpack" or "cbor".
	Serializer string
	// Codec, if set, overrides Serializer.
	Codec codec.Codec

	// AuthID and AuthRole are sent in HELLO (authid is required by ticket
	// and wampcra; routers may ignore authrole).
	AuthID   string
	AuthRole string
	// AuthExtra is sent as HELLO.Details.authextra, merged with what the
	// Auth methods add (cryptosign's pubkey).
	AuthExtra wamp.Dict
	// Auth lists the authentication methods offered, in preference order.
	// Empty means anonymous only.
	Auth []Authenticator

	// TLSConfig is used for wss:// and tls:// URLs; nil means system
	// defaults with the URL's host as server name.
	TLSConfig *tls.Config
	// HTTPHeader is added to the WebSocket upgrade request.
	HTTPHeader http.Header
	// Batched offers the batched WebSocket subprotocol variant.
	Batched bool
	// MaxMessageSize bounds a received message in bytes. Default 16 MiB.
	MaxMessageSize int

	// Registry, if set, is attached on every join (as Session.Attach does).
	Registry *Registry

	// Reconnect configures automatic reconnection. Off by default.
	Reconnect Reconnect

	// OnJoin is called after every successful join (the first one before
	// Dial returns, then after each reconnect), once the registries are
	// attached. It runs on its own goroutine for reconnects and may call
	// Session methods.
	OnJoin func(*Session)
	// OnLeave is called when a joined session ends: err is nil after Close,
	// else the cause (*GoodbyeError, *AbortError, a transport error).
	OnLeave func(*Session, error)

	// MaxConcurrentHandlers bounds the procedure and event handlers running
	// at once. Default 64. When all are busy, further INVOCATIONs and
	// EVENTs wait in a bounded queue; once that is full too, the session
	// stops reading from the router until a handler finishes. A handler
	// that waits for another request on the same session can therefore
	// stall it when the limit is reached; raise the limit if handlers call
	// each other. Set 1 to run handlers one at a time, in arrival order.
	MaxConcurrentHandlers int

	// JoinTimeout bounds each reconnect attempt (transport, HELLO up to
	// WELCOME and attaching registries). Dial itself is bounded by its ctx.
	// Default 10s.
	JoinTimeout time.Duration
	// CloseTimeout bounds Close's wait for the router's GOODBYE reply when
	// the ctx given to Close has no deadline. Default 5s.
	CloseTimeout time.Duration
	// CancelTimeout bounds how long a canceled Call waits for the router's
	// answer to its CANCEL before giving up locally. Default 5s.
	CancelTimeout time.Duration

	// Agent is HELLO.Details.agent. Default "tollgate-client".
	Agent string
	// Logger receives the client's logs (handler panics, failed
	// re-attaches, reconnect attempts). nil discards them.
	Logger *slog.Logger
}

// Reconnect configures automatic reconnection after the session was lost
// (transport error, router GOODBYE/ABORT). Close never reconnects, and the
// first Dial is not retried. Between attempts the delay doubles from
// MinDelay up to MaxDelay.
type Reconnect struct {
	Enabled bool
	// MinDelay is the first delay. Default 250ms.
	MinDelay time.Duration
	// MaxDelay caps the delay. Default 30s.
	MaxDelay time.Duration
	// MaxAttempts is how many attempts are made per loss; 0 means no limit.
	MaxAttempts int
}

func (c Config) withDefaults() (Config, error) {
	var errs []error
	if c.Realm != "" && !wamp.ValidURI(c.Realm, false, "") {
		errs = append(errs, fmt.Errorf("client: Config.Realm %q is not a valid URI", c.Realm))
	}
	if c.Codec == nil {
		name := c.Serializer
		if name == "" {
			name = "json"
		}
		cd, err := codec.ByName(name)
		if err != nil {
			errs = append(errs, fmt.Errorf("client: Config.Serializer: %w", err))
		}
		c.Codec = cd
	}
	for i, a := range c.Auth {
		if a == nil {
			errs = append(errs, fmt.Errorf("client: Config.Auth[%d] is nil", i))
		}
	}
	if c.MaxConcurrentHandlers < 0 || c.MaxMessageSize < 0 || c.JoinTimeout < 0 || c.CloseTimeout < 0 ||
		c.CancelTimeout < 0 || c.Reconnect.MinDelay < 0 || c.Reconnect.MaxDelay < 0 || c.Reconnect.MaxAttempts < 0 {
		errs = append(errs, errors.New("client: Config limits and durations must not be negative"))
	}
	if c.MaxConcurrentHandlers == 0 {
		c.MaxConcurrentHandlers = 64
	}
	if c.JoinTimeout == 0 {
		c.JoinTimeout = 10 * time.Second
	}
	if c.CloseTimeout == 0 {
		c.CloseTimeout = 5 * time.Second
	}
	if c.CancelTimeout == 0 {
		c.CancelTimeout = 5 * time.Second
	}
	if c.Reconnect.MinDelay == 0 {
		c.Reconnect.MinDelay = 250 * time.Millisecond
	}
	if c.Reconnect.MaxDelay == 0 {
		c.Reconnect.MaxDelay = 30 * time.Second
	}
	if c.Reconnect.MaxDelay < c.Reconnect.MinDelay {
		c.Reconnect.MaxDelay = c.Reconnect.MinDelay
	}
	if c.Agent == "" {
		c.Agent = "tollgate-client"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c, errors.Join(errs...)
}

// helloRoles is what the client announces in HELLO.Details.roles.
func helloRoles() wamp.Dict {
	role := func(features ...string) wamp.Dict { return wamp.Dict{"features": wamp.Features(features...)} }
	return wamp.Dict{
		wamp.RoleCaller: role(wamp.FeatureProgressiveCallResults, wamp.FeatureProgressiveCallInvocations,
			wamp.FeatureCallCanceling, wamp.FeatureCallTimeout, wamp.FeatureCallerIdentification,
			wamp.FeaturePayloadPassthruMode),
		wamp.RoleCallee: role(wamp.FeatureProgressiveCallResults, wamp.FeatureProgressiveCallInvocations,
			wamp.FeatureCallCanceling, wamp.FeatureCallTimeout, wamp.FeatureCallerIdentification,
			wamp.FeaturePatternBasedRegistration, wamp.FeatureSharedRegistration,
			wamp.FeatureRegistrationRevocation, wamp.FeaturePayloadPassthruMode),
		wamp.RolePublisher: role(wamp.FeaturePublisherIdentification, wamp.FeatureSubscriberBlackWhiteList,
			wamp.FeaturePublisherExclusion, wamp.FeaturePayloadPassthruMode),
		wamp.RoleSubscriber: role(wamp.FeaturePublisherIdentification, wamp.FeaturePatternBasedSubscription,
			wamp.FeatureSubscriptionRevocation, wamp.FeaturePayloadPassthruMode),
	}
}
