package logging

import (
	"fmt"

	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/rs/zerolog"
)

// Comet adapts a zerolog logger to cometbft's Logger, so the cometbft components Tutti
// reuses (ABCI clients and servers, the RPC server) log through the node's one logger.
func Comet(l zerolog.Logger) cmtlog.Logger { return cometLogger{l} }

type cometLogger struct{ l zerolog.Logger }

func (c cometLogger) Debug(msg string, kv ...any) { fields(c.l.Debug(), kv).Msg(msg) }
func (c cometLogger) Info(msg string, kv ...any)  { fields(c.l.Info(), kv).Msg(msg) }
func (c cometLogger) Warn(msg string, kv ...any)  { fields(c.l.Warn(), kv).Msg(msg) }
func (c cometLogger) Error(msg string, kv ...any) { fields(c.l.Error(), kv).Msg(msg) }

func (c cometLogger) With(kv ...any) cmtlog.Logger {
	ctx := c.l.With()
	for i := 0; i+1 < len(kv); i += 2 {
		ctx = ctx.Interface(fmt.Sprint(kv[i]), kv[i+1])
	}
	return cometLogger{ctx.Logger()}
}

// fields adds cometbft's alternating key/value pairs to an event.
func fields(e *zerolog.Event, kv []any) *zerolog.Event {
	for i := 0; i+1 < len(kv); i += 2 {
		if err, ok := kv[i+1].(error); ok {
			e = e.AnErr(fmt.Sprint(kv[i]), err)
			continue
		}
		switch v := kv[i+1].(type) {
		case string, bool, int, int64, uint64, float64, []byte:
			e = e.Interface(fmt.Sprint(kv[i]), v)
		default:
			// Services log themselves and other structs: their text form, never a JSON
			// marshalling error in place of the value.
			e = e.Str(fmt.Sprint(kv[i]), fmt.Sprint(v))
		}
	}
	return e
}
