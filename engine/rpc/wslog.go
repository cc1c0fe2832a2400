package rpc

import (
	"errors"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/libs/service"
)

// wsLogger passes the websocket manager's log through, except one line: cometbft's
// manager stops every connection twice when a client goes away (the read routine already
// stopped it) and logs the second stop's "already stopped" as an ERROR. That is every
// ordinary disconnect, not an error an operator should see, so it is logged at DEBUG.
type wsLogger struct{ cmtlog.Logger }

func (l wsLogger) Error(msg string, kv ...any) {
	if msg == "error while stopping connection" {
		for _, v := range kv {
			if err, ok := v.(error); ok && errors.Is(err, service.ErrAlreadyStopped) {
				l.Logger.Debug(msg, kv...)
				return
			}
		}
	}
	l.Logger.Error(msg, kv...)
}

func (l wsLogger) With(kv ...any) cmtlog.Logger { return wsLogger{l.Logger.With(kv...)} }
