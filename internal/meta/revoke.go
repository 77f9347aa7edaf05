package meta

import "github.com/tollgate-wamp/tollgate/wamp"

// RevokeSubscription takes subscriber s off subscription id, as
// wamp.subscription.remove_subscriber does: UNSUBSCRIBED with details
// {subscription, reason} if s announced subscription_revocation, and the
// meta events. It reports false when s is not a subscriber of id. The
// router's tollgate.authorizer.revoke uses it.
func (m *Meta) RevokeSubscription(s Session, id wamp.ID, reason string) bool {
	return m.revokeSubscription(s, id, reason)
}

// RevokeRegistration takes callee s off registration id, as
// wamp.registration.remove_callee does (UNREGISTERED with details
// {registration, reason} if s announced registration_revocation).
func (m *Meta) RevokeRegistration(s Session, id wamp.ID, reason string) bool {
	return m.revokeRegistration(s, id, reason)
}
