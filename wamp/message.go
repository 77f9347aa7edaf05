package wamp

import "fmt"

// MessageType is the integer code that starts every WAMP message.
type MessageType uint16

// Message codes (wamp-spec.md §4).
const (
	TypeHello        MessageType = 1
	TypeWelcome      MessageType = 2
	TypeAbort        MessageType = 3
	TypeChallenge    MessageType = 4
	TypeAuthenticate MessageType = 5
	TypeGoodbye      MessageType = 6
	TypeError        MessageType = 8
	TypePublish      MessageType = 16
	TypePublished    MessageType = 17
	TypeSubscribe    MessageType = 32
	TypeSubscribed   MessageType = 33
	TypeUnsubscribe  MessageType = 34
	TypeUnsubscribed MessageType = 35
	TypeEvent        MessageType = 36
	TypeCall         MessageType = 48
	TypeCancel       MessageType = 49
	TypeResult       MessageType = 50
	TypeRegister     MessageType = 64
	TypeRegistered   MessageType = 65
	TypeUnregister   MessageType = 66
	TypeUnregistered MessageType = 67
	TypeInvocation   MessageType = 68
	TypeInterrupt    MessageType = 69
	TypeYield        MessageType = 70
)

var typeNames = map[MessageType]string{
	TypeHello: "HELLO", TypeWelcome: "WELCOME", TypeAbort: "ABORT", TypeChallenge: "CHALLENGE",
	TypeAuthenticate: "AUTHENTICATE", TypeGoodbye: "GOODBYE", TypeError: "ERROR",
	TypePublish: "PUBLISH", TypePublished: "PUBLISHED", TypeSubscribe: "SUBSCRIBE",
	TypeSubscribed: "SUBSCRIBED", TypeUnsubscribe: "UNSUBSCRIBE", TypeUnsubscribed: "UNSUBSCRIBED",
	TypeEvent: "EVENT", TypeCall: "CALL", TypeCancel: "CANCEL", TypeResult: "RESULT",
	TypeRegister: "REGISTER", TypeRegistered: "REGISTERED", TypeUnregister: "UNREGISTER",
	TypeUnregistered: "UNREGISTERED", TypeInvocation: "INVOCATION", TypeInterrupt: "INTERRUPT",
	TypeYield: "YIELD",
}

func (t MessageType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("MessageType(%d)", uint16(t))
}

// Known reports whether t is a message type this package defines.
func (t MessageType) Known() bool { _, ok := typeNames[t]; return ok }

// IsRequest reports whether t may appear as ERROR.RequestType.
func (t MessageType) IsRequest() bool {
	switch t {
	case TypeSubscribe, TypeUnsubscribe, TypePublish, TypeRegister, TypeUnregister, TypeCall, TypeInvocation:
		return true
	}
	return false
}

// Message is one WAMP message. Every concrete type is a pointer to a struct
// of this package.
type Message interface {
	MessageType() MessageType
}

// Hello is [HELLO, Realm|uri, Details|dict].
type Hello struct {
	Realm   URI
	Details Dict
}

// Welcome is [WELCOME, Session|id, Details|dict].
type Welcome struct {
	Session ID
	Details Dict
}

// Abort is [ABORT, Details|dict, Reason|uri, Arguments?, ArgumentsKw?].
type Abort struct {
	Details Dict
	Reason  URI
	Payload
}

// Challenge is [CHALLENGE, AuthMethod|string, Extra|dict].
type Challenge struct {
	AuthMethod string
	Extra      Dict
}

// Authenticate is [AUTHENTICATE, Signature|string, Extra|dict].
type Authenticate struct {
	Signature string
	Extra     Dict
}

// Goodbye is [GOODBYE, Details|dict, Reason|uri].
type Goodbye struct {
	Details Dict
	Reason  URI
}

// Error is [ERROR, RequestType|int, Request|id, Details|dict, Error|uri, Arguments?, ArgumentsKw?].
type Error struct {
	RequestType MessageType
	Request     ID
	Details     Dict
	Error       URI
	Payload
}

// Publish is [PUBLISH, Request|id, Options|dict, Topic|uri, Arguments?, ArgumentsKw?].
type Publish struct {
	Request ID
	Options Dict
	Topic   URI
	Payload
}

// Published is [PUBLISHED, PUBLISH.Request|id, Publication|id].
type Published struct {
	Request     ID
	Publication ID
}

// Subscribe is [SUBSCRIBE, Request|id, Options|dict, Topic|uri].
type Subscribe struct {
	Request ID
	Options Dict
	Topic   URI
}

// Subscribed is [SUBSCRIBED, SUBSCRIBE.Request|id, Subscription|id].
type Subscribed struct {
	Request      ID
	Subscription ID
}

// Unsubscribe is [UNSUBSCRIBE, Request|id, SUBSCRIBED.Subscription|id].
type Unsubscribe struct {
	Request      ID
	Subscription ID
}

// Unsubscribed is [UNSUBSCRIBED, UNSUBSCRIBE.Request|id] or, for a
// revocation, [UNSUBSCRIBED, 0, Details|dict]. Details nil means the short form.
type Unsubscribed struct {
	Request ID
	Details Dict
}

// Event is [EVENT, Subscription|id, Publication|id, Details|dict, Arguments?, ArgumentsKw?].
type Event struct {
	Subscription ID
	Publication  ID
	Details      Dict
	Payload
}

// Call is [CALL, Request|id, Options|dict, Procedure|uri, Arguments?, ArgumentsKw?].
type Call struct {
	Request   ID
	Options   Dict
	Procedure URI
	Payload
}

// Cancel is [CANCEL, CALL.Request|id, Options|dict].
type Cancel struct {
	Request ID
	Options Dict
}

// Result is [RESULT, CALL.Request|id, Details|dict, Arguments?, ArgumentsKw?].
type Result struct {
	Request ID
	Details Dict
	Payload
}

// Register is [REGISTER, Request|id, Options|dict, Procedure|uri].
type Register struct {
	Request   ID
	Options   Dict
	Procedure URI
}

// Registered is [REGISTERED, REGISTER.Request|id, Registration|id].
type Registered struct {
	Request      ID
	Registration ID
}

// Unregister is [UNREGISTER, Request|id, REGISTERED.Registration|id].
type Unregister struct {
	Request      ID
	Registration ID
}

// Unregistered is [UNREGISTERED, UNREGISTER.Request|id] or, for a
// revocation, [UNREGISTERED, 0, Details|dict]. Details nil means the short form.
type Unregistered struct {
	Request ID
	Details Dict
}

// Invocation is [INVOCATION, Request|id, Registration|id, Details|dict, Arguments?, ArgumentsKw?].
type Invocation struct {
	Request      ID
	Registration ID
	Details      Dict
	Payload
}

// Interrupt is [INTERRUPT, INVOCATION.Request|id, Options|dict].
type Interrupt struct {
	Request ID
	Options Dict
}

// Yield is [YIELD, INVOCATION.Request|id, Options|dict, Arguments?, ArgumentsKw?].
type Yield struct {
	Request ID
	Options Dict
	Payload
}

func (*Hello) MessageType() MessageType        { return TypeHello }
func (*Welcome) MessageType() MessageType      { return TypeWelcome }
func (*Abort) MessageType() MessageType        { return TypeAbort }
func (*Challenge) MessageType() MessageType    { return TypeChallenge }
func (*Authenticate) MessageType() MessageType { return TypeAuthenticate }
func (*Goodbye) MessageType() MessageType      { return TypeGoodbye }
func (*Error) MessageType() MessageType        { return TypeError }
func (*Publish) MessageType() MessageType      { return TypePublish }
func (*Published) MessageType() MessageType    { return TypePublished }
func (*Subscribe) MessageType() MessageType    { return TypeSubscribe }
func (*Subscribed) MessageType() MessageType   { return TypeSubscribed }
func (*Unsubscribe) MessageType() MessageType  { return TypeUnsubscribe }
func (*Unsubscribed) MessageType() MessageType { return TypeUnsubscribed }
func (*Event) MessageType() MessageType        { return TypeEvent }
func (*Call) MessageType() MessageType         { return TypeCall }
func (*Cancel) MessageType() MessageType       { return TypeCancel }
func (*Result) MessageType() MessageType       { return TypeResult }
func (*Register) MessageType() MessageType     { return TypeRegister }
func (*Registered) MessageType() MessageType   { return TypeRegistered }
func (*Unregister) MessageType() MessageType   { return TypeUnregister }
func (*Unregistered) MessageType() MessageType { return TypeUnregistered }
func (*Invocation) MessageType() MessageType   { return TypeInvocation }
func (*Interrupt) MessageType() MessageType    { return TypeInterrupt }
func (*Yield) MessageType() MessageType        { return TypeYield }
