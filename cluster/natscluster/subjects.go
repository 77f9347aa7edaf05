package natscluster

import (
	"sync"

	"github.com/tollgate-wamp/tollgate/wamp"
)

// Event subjects are remembered both ways, so a publication to a topic
// seen recently costs no escaping and no allocation for its subject:
// neither on the sending node (the interest check and Publish) nor on
// the receiving one (the dispatcher's parse). Each map is emptied when it
// reaches subjectCacheMax entries: a bound, not an eviction policy. Only
// names up to subjectCacheLen bytes are kept, so the maps stay within a
// few MiB whatever the topics.
const (
	subjectCacheMax = 4096
	subjectCacheLen = 256
)

type topicKey struct{ realm, topic wamp.URI }

type subjectCache struct {
	mu  sync.RWMutex // a leaf
	out map[topicKey]string
	in  map[string]topicKey // the dispatcher's only
}

// eventSubject is c.sj.Event(realm, topic), remembered.
func (c *Cluster) eventSubject(realm, topic wamp.URI) string {
	sc, k := &c.subjects, topicKey{realm, topic}
	sc.mu.RLock()
	s, ok := sc.out[k]
	sc.mu.RUnlock()
	if ok {
		return s
	}
	s = c.sj.Event(realm, topic)
	if len(s) > subjectCacheLen {
		return s
	}
	sc.mu.Lock()
	if sc.out == nil || len(sc.out) >= subjectCacheMax {
		sc.out = make(map[topicKey]string)
	}
	sc.out[k] = s
	sc.mu.Unlock()
	return s
}

// parseEvent is c.sj.ParseEvent(subject), remembered; the dispatcher's
// only, so without a lock.
func (c *Cluster) parseEvent(subject string) (realm, topic wamp.URI, err error) {
	sc := &c.subjects
	if k, ok := sc.in[subject]; ok {
		return k.realm, k.topic, nil
	}
	if realm, topic, err = c.sj.ParseEvent(subject); err != nil || len(subject) > subjectCacheLen {
		return realm, topic, err
	}
	if sc.in == nil || len(sc.in) >= subjectCacheMax {
		sc.in = make(map[string]topicKey)
	}
	sc.in[subject] = topicKey{realm, topic}
	return realm, topic, nil
}
