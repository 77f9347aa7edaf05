package codec

import "github.com/tollgate-wamp/tollgate/wamp"

// knownKeys holds the dict keys every session's HELLO and WELCOME carry
// (roles, their features, the details around them): a decoded key found
// here is this string, not a new one (a HELLO has some 30 such keys). A
// map index with string(b) does not allocate.
var knownKeys = func() map[string]string {
	m := map[string]string{}
	for _, k := range []string{
		wamp.RoleCaller, wamp.RoleCallee, wamp.RolePublisher, wamp.RoleSubscriber, wamp.RoleDealer, wamp.RoleBroker,
		wamp.FeatureProgressiveCallResults, wamp.FeatureProgressiveCallInvocations, wamp.FeatureCallTimeout,
		wamp.FeatureCallCanceling, wamp.FeatureCallerIdentification, wamp.FeaturePatternBasedRegistration,
		wamp.FeatureSharedRegistration, wamp.FeatureRegistrationRevocation, wamp.FeatureRegistrationMetaAPI,
		wamp.FeatureTestamentMetaAPI, wamp.FeatureSubscriberBlackWhiteList, wamp.FeaturePublisherExclusion,
		wamp.FeaturePublisherIdentification, wamp.FeaturePatternBasedSubscription, wamp.FeatureSubscriptionRevocation,
		wamp.FeatureSubscriptionMetaAPI, wamp.FeatureEventHistory, wamp.FeatureEventRetention,
		wamp.FeatureSessionMetaAPI, wamp.FeaturePayloadPassthruMode,
		"roles", "features", "agent", "authid", "authrole", "authmethods", "authextra", "authprovider",
		"authmethod", "realm", "x_cbor", "receive_progress", "progress", "timeout", "disclose_me",
		"match", "invoke", "acknowledge", "exclude_me", "topic", "procedure",
	} {
		m[k] = k
	}
	return m
}()

// internKey returns b as a string, shared when it is a known key.
func internKey(b []byte) string {
	if s, ok := knownKeys[string(b)]; ok {
		return s
	}
	return string(b)
}
