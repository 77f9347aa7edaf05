package client

import (
	"fmt"
	"time"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Option is a request option for Call, Publish, Subscribe or Register (and
// Registry.Procedure/Subscriber). Each option applies to some of these
// requests; passing it to another one fails with an error wrapping
// ErrInvalidOption, and an option whose feature the router did not
// announce fails with a *FeatureError. In both cases nothing is sent.
//
// Options are immutable values, safe to share between goroutines.
type Option struct {
	name    string
	applies opKind
	role    string // "dealer"/"broker" for the feature check, "" for none
	feature string
	// featureFor, when set, replaces role and feature: options that apply
	// to calls and publications need a dealer or a broker feature.
	featureFor func(opKind) (role, feature string)
	apply      func(*reqOptions) error
}

type opKind uint8

const (
	opCall opKind = 1 << iota
	opPublish
	opSubscribe
	opRegister
)

func (k opKind) String() string {
	switch k {
	case opCall:
		return "Call"
	case opPublish:
		return "Publish"
	case opSubscribe:
		return "Subscribe"
	case opRegister:
		return "Register"
	}
	return "request"
}

// reqOptions collects the effect of Options on one request.
type reqOptions struct {
	wire       wamp.Dict
	progress   func(*Result)
	cancelMode string
	cancelSet  bool
	ack        bool
	match      string
	names      []string
}

func (o *reqOptions) set(k string, v any) {
	if o.wire == nil {
		o.wire = wamp.Dict{}
	}
	o.wire[k] = v
}

// wireOrEmpty is the request's Options dict ({} when no option set one).
func (o *reqOptions) wireOrEmpty() wamp.Dict {
	if o.wire == nil {
		return wamp.Dict{}
	}
	return o.wire
}

// matchOrExact is the match policy a handle reports ("" means exact).
func matchOrExact(m string) string {
	if m == "" {
		return wamp.MatchExact
	}
	return m
}

// resolve applies opts for request kind k and checks them against the
// router's features (si nil skips the feature check: registries validate
// before connecting).
func resolveOptions(k opKind, si *SessionInfo, opts []Option) (*reqOptions, error) {
	ro := &reqOptions{}
	for _, o := range opts {
		if o.apply == nil {
			return nil, fmt.Errorf("%w: zero Option", ErrInvalidOption)
		}
		if o.applies&k == 0 {
			return nil, fmt.Errorf("%w: %s does not apply to %s", ErrInvalidOption, o.name, k)
		}
		if err := o.apply(ro); err != nil {
			return nil, err
		}
		role, feature := o.role, o.feature
		if o.featureFor != nil {
			role, feature = o.featureFor(k)
		}
		if si != nil && feature != "" && !si.Supports(role, feature) {
			return nil, &FeatureError{Role: role, Feature: feature}
		}
	}
	if si != nil && ro.match != "" && ro.match != wamp.MatchExact {
		role, feature := wamp.RoleBroker, wamp.FeaturePatternBasedSubscription
		if k == opRegister {
			role, feature = wamp.RoleDealer, wamp.FeaturePatternBasedRegistration
		}
		if !si.Supports(role, feature) {
			return nil, &FeatureError{Role: role, Feature: feature}
		}
	}
	return ro, nil
}

// ReceiveProgress asks for progressive results (Call): fn is called with
// each progressive RESULT, in order, on the goroutine that called Call,
// before Call returns the final result. Needs progressive_call_results.
func ReceiveProgress(fn func(*Result)) Option {
	return Option{name: "ReceiveProgress", applies: opCall, role: wamp.RoleDealer, feature: wamp.FeatureProgressiveCallResults,
		apply: func(o *reqOptions) error {
			if fn == nil {
				return fmt.Errorf("%w: ReceiveProgress with a nil callback", ErrInvalidOption)
			}
			o.progress = fn
			o.set("receive_progress", true)
			return nil
		}}
}

// CancelMode sets how a call is canceled when its ctx ends (Call):
// wamp.CancelSkip, wamp.CancelKill or wamp.CancelKillNoWait (the default
// when the router supports call_canceling).
// Needs call_canceling. Without that feature a canceled ctx only abandons
// the call locally.
func CancelMode(mode string) Option {
	return Option{name: "CancelMode", applies: opCall, role: wamp.RoleDealer, feature: wamp.FeatureCallCanceling,
		apply: func(o *reqOptions) error {
			if !wamp.ValidCancelMode(mode) {
				return fmt.Errorf("%w: cancel mode %q (want skip, kill or killnowait)", ErrInvalidOption, mode)
			}
			o.cancelMode, o.cancelSet = mode, true
			return nil
		}}
}

// CallTimeout asks the router to time the call out after d (Call), answering
// wamp.error.timeout. Milliseconds on the wire. Needs call_timeout.
func CallTimeout(d time.Duration) Option {
	return Option{name: "CallTimeout", applies: opCall, role: wamp.RoleDealer, feature: wamp.FeatureCallTimeout,
		apply: func(o *reqOptions) error {
			if d < time.Millisecond {
				return fmt.Errorf("%w: call timeout %v is below 1ms", ErrInvalidOption, d)
			}
			o.set("timeout", d.Milliseconds())
			return nil
		}}
}

// DiscloseMe asks the router to disclose this session's identity to the
// callee (Call; needs caller_identification) or to subscribers (Publish;
// needs publisher_identification).
func DiscloseMe() Option {
	return Option{name: "DiscloseMe", applies: opCall | opPublish,
		featureFor: func(k opKind) (string, string) {
			if k == opPublish {
				return wamp.RoleBroker, wamp.FeaturePublisherIdentification
			}
			return wamp.RoleDealer, wamp.FeatureCallerIdentification
		},
		apply: func(o *reqOptions) error { o.set("disclose_me", true); return nil }}
}

// DiscloseCaller asks the router to disclose every caller's identity
// (Register). Needs caller_identification.
func DiscloseCaller() Option {
	return Option{name: "DiscloseCaller", applies: opRegister, role: wamp.RoleDealer, feature: wamp.FeatureCallerIdentification,
		apply: func(o *reqOptions) error { o.set("disclose_caller", true); return nil }}
}

// Match sets the match policy (Subscribe, Register): exact (default),
// prefix or wildcard. Non-exact policies need pattern_based_subscription or
// pattern_based_registration.
func Match(policy string) Option {
	return Option{name: "Match", applies: opSubscribe | opRegister,
		apply: func(o *reqOptions) error {
			switch policy {
			case wamp.MatchExact, wamp.MatchPrefix, wamp.MatchWildcard:
			default:
				return fmt.Errorf("%w: match policy %q (want exact, prefix or wildcard)", ErrInvalidOption, policy)
			}
			o.match = policy
			if policy != wamp.MatchExact {
				o.set("match", policy)
			}
			return nil
		}}
}

// Invoke sets the invocation policy of a shared registration (Register):
// one of the wamp.Invoke* constants, wamp.InvokeSingle by default.
// Policies other than single need shared_registration.
func Invoke(policy string) Option {
	o := Option{name: "Invoke", applies: opRegister,
		apply: func(o *reqOptions) error {
			if !wamp.ValidInvoke(policy) {
				return fmt.Errorf("%w: invoke policy %q (want single, roundrobin, random, first or last)", ErrInvalidOption, policy)
			}
			if policy != wamp.InvokeSingle {
				o.set("invoke", policy)
			}
			return nil
		}}
	if policy != wamp.InvokeSingle {
		o.role, o.feature = wamp.RoleDealer, wamp.FeatureSharedRegistration
	}
	return o
}

// ExcludeMe false lets the publisher receive its own event (Publish).
// The router's default is true. Needs publisher_exclusion.
func ExcludeMe(exclude bool) Option {
	return Option{name: "ExcludeMe", applies: opPublish, role: wamp.RoleBroker, feature: wamp.FeaturePublisherExclusion,
		apply: func(o *reqOptions) error { o.set("exclude_me", exclude); return nil }}
}

// Acknowledge makes Publish wait for the router's PUBLISHED (or ERROR).
func Acknowledge() Option {
	return Option{name: "Acknowledge", applies: opPublish,
		apply: func(o *reqOptions) error { o.ack = true; o.set("acknowledge", true); return nil }}
}

func idListOption(name, key string, ids []wamp.ID) Option {
	return Option{name: name, applies: opPublish, role: wamp.RoleBroker, feature: wamp.FeatureSubscriberBlackWhiteList,
		apply: func(o *reqOptions) error {
			l := make(wamp.List, len(ids))
			for i, id := range ids {
				if !id.Valid() {
					return fmt.Errorf("%w: %s: invalid session id %d", ErrInvalidOption, name, id)
				}
				l[i] = uint64(id)
			}
			o.set(key, l)
			return nil
		}}
}

func strListOption(name, key string, vals []string) Option {
	return Option{name: name, applies: opPublish, role: wamp.RoleBroker, feature: wamp.FeatureSubscriberBlackWhiteList,
		apply: func(o *reqOptions) error {
			l := make(wamp.List, len(vals))
			for i, v := range vals {
				l[i] = v
			}
			o.set(key, l)
			return nil
		}}
}

// Exclude keeps the event from the given sessions (Publish). The
// Exclude*/Eligible* options need subscriber_blackwhite_listing.
func Exclude(sessions ...wamp.ID) Option { return idListOption("Exclude", "exclude", sessions) }

// ExcludeAuthID keeps the event from sessions with these authids (Publish).
func ExcludeAuthID(authids ...string) Option {
	return strListOption("ExcludeAuthID", "exclude_authid", authids)
}

// ExcludeAuthRole keeps the event from sessions with these roles (Publish).
func ExcludeAuthRole(roles ...string) Option {
	return strListOption("ExcludeAuthRole", "exclude_authrole", roles)
}

// Eligible delivers the event only to the given sessions (Publish).
func Eligible(sessions ...wamp.ID) Option { return idListOption("Eligible", "eligible", sessions) }

// EligibleAuthID delivers the event only to sessions with these authids (Publish).
func EligibleAuthID(authids ...string) Option {
	return strListOption("EligibleAuthID", "eligible_authid", authids)
}

// EligibleAuthRole delivers the event only to sessions with these roles (Publish).
func EligibleAuthRole(roles ...string) Option {
	return strListOption("EligibleAuthRole", "eligible_authrole", roles)
}

// Retain asks the broker to keep this event as its topic's retained event
// (Publish; PUBLISH.Options.retain), delivered to later subscribers that
// ask with GetRetained. Needs event_retention.
func Retain() Option {
	return Option{name: "Retain", applies: opPublish, role: wamp.RoleBroker, feature: wamp.FeatureEventRetention,
		apply: func(o *reqOptions) error { o.set("retain", true); return nil }}
}

// GetRetained asks the broker to send, right after subscribing, the
// retained event of the topic (or of every matching topic for a pattern
// subscription), with Event.Retained set (Subscribe;
// SUBSCRIBE.Options.get_retained). Needs event_retention.
func GetRetained() Option {
	return Option{name: "GetRetained", applies: opSubscribe, role: wamp.RoleBroker, feature: wamp.FeatureEventRetention,
		apply: func(o *reqOptions) error { o.set("get_retained", true); return nil }}
}

// PPT marks a call or publication as payload passthru mode (Call,
// CallProgressive, Publish; wamp-spec §16): the router forwards the
// ppt_scheme, ppt_serializer, ppt_cipher and ppt_keyid options unchanged
// into INVOCATION/EVENT details and never looks at the payload, which by
// convention is one binary argument the application encoded (and perhaps
// encrypted) itself. scheme must not be empty; serializer, cipher and keyid
// are left out when empty. Needs payload_passthru_mode.
//
// Receivers find the keys in Invocation.Details, Event.Details and
// Result.Details; a handler answers in the same mode by returning a Result
// whose Details hold ppt_* keys.
func PPT(scheme, serializer, cipher, keyid string) Option {
	return Option{name: "PPT", applies: opCall | opPublish,
		featureFor: func(k opKind) (string, string) {
			if k == opPublish {
				return wamp.RoleBroker, wamp.FeaturePayloadPassthruMode
			}
			return wamp.RoleDealer, wamp.FeaturePayloadPassthruMode
		},
		apply: func(o *reqOptions) error {
			if scheme == "" {
				return fmt.Errorf("%w: PPT with an empty scheme", ErrInvalidOption)
			}
			o.set("ppt_scheme", scheme)
			for k, v := range map[string]string{"ppt_serializer": serializer, "ppt_cipher": cipher, "ppt_keyid": keyid} {
				if v != "" {
					o.set(k, v)
				}
			}
			return nil
		}}
}

// WireOption sets an arbitrary key of the request's Options dict (any
// request). No feature check is done: use it for router-specific options.
func WireOption(key string, value any) Option {
	return Option{name: "WireOption(" + key + ")", applies: opCall | opPublish | opSubscribe | opRegister,
		apply: func(o *reqOptions) error {
			v, err := normalize(value)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrInvalidOption, key, err)
			}
			o.set(key, v)
			return nil
		}}
}

// ParamNames names a typed handler's parameters (Register, Subscribe,
// Registry), so argument errors read `argument 2 (authid): want string,
// got float64` instead of `argument 2: ...`. Names are for positional
// parameters after the optional *CallContext/context.Context.
func ParamNames(names ...string) Option {
	return Option{name: "ParamNames", applies: opRegister | opSubscribe,
		apply: func(o *reqOptions) error { o.names = names; return nil }}
}
