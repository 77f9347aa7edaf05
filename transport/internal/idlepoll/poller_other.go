//go:build !linux

package idlepoll

import (
	"errors"
	"time"
)

// Without epoll, connections keep a reader goroutine: Enroll refuses.
const supported = false

type poller struct{}

var thePoller poller

var errUnsupported = errors.New("idlepoll: not supported on this platform")

func (poller) enroll(*Entry, time.Duration) bool { return false }
func (poller) unenroll(*Entry)                   {}
func (poller) arm(*Entry) error                  { return errUnsupported }
func (poller) disarm(*Entry)                     {}
func (e *Entry) interrupt()                      {}
