package wamp

// Roles a peer announces in HELLO.Details.roles (clients) or
// WELCOME.Details.roles (routers), wamp-spec.md §10.
const (
	RoleCaller     = "caller"
	RoleCallee     = "callee"
	RolePublisher  = "publisher"
	RoleSubscriber = "subscriber"
	RoleDealer     = "dealer"
	RoleBroker     = "broker"
)

// Feature keys (roles.<role>.features.<key>, wamp-spec.md §10).
const (
	FeatureProgressiveCallResults     = "progressive_call_results"
	FeatureProgressiveCallInvocations = "progressive_call_invocations"
	FeatureCallTimeout                = "call_timeout"
	FeatureCallCanceling              = "call_canceling"
	FeatureCallerIdentification       = "caller_identification"
	FeaturePatternBasedRegistration   = "pattern_based_registration"
	FeatureSharedRegistration         = "shared_registration"
	FeatureRegistrationRevocation     = "registration_revocation"
	FeatureRegistrationMetaAPI        = "registration_meta_api"
	FeatureTestamentMetaAPI           = "testament_meta_api"
	FeatureSubscriberBlackWhiteList   = "subscriber_blackwhite_listing"
	FeaturePublisherExclusion         = "publisher_exclusion"
	FeaturePublisherIdentification    = "publisher_identification"
	FeaturePatternBasedSubscription   = "pattern_based_subscription"
	FeatureSubscriptionRevocation     = "subscription_revocation"
	FeatureSubscriptionMetaAPI        = "subscription_meta_api"
	FeatureEventHistory               = "event_history"
	FeatureEventRetention             = "event_retention"
	FeatureSessionMetaAPI             = "session_meta_api"
	FeaturePayloadPassthruMode        = "payload_passthru_mode"
)

// featureCancellingSpelling is how one section of the spec spells
// call_canceling; peers that follow it are understood.
const featureCancellingSpelling = "call_cancelling"

// HasFeature reports whether roles (a HELLO or WELCOME roles dict)
// announces feature for role: roles.<role>.features.<feature> is true.
// call_canceling is also found under the spec's other spelling.
func HasFeature(roles Dict, role, feature string) bool {
	r, _ := OptDict(roles, role)
	f, _ := OptDict(r, "features")
	v, _ := OptBool(f, feature)
	if !v && feature == FeatureCallCanceling {
		v, _ = OptBool(f, featureCancellingSpelling)
	}
	return v
}

// Features is the features dict announcing keys: {key: true, ...}.
func Features(keys ...string) Dict {
	d := make(Dict, len(keys))
	for _, k := range keys {
		d[k] = true
	}
	return d
}
