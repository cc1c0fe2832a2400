package sim

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/proxy"
	e2eapp "github.com/cometbft/cometbft/test/e2e/app"
)

// TestCometBFTE2EAppGetsTheInfractionHeight: with one of 4 validators equivocating, the
// e2e app's FinalizeBlock reports each DUPLICATE_VOTE with the height and time of the
// height that ordered the double-signed round (CometBFT's infraction height, from which
// the SDK's evidence module measures age and slashes), never a height after the one
// reporting it, and dated as that height's own FinalizeBlock was.
func TestCometBFTE2EAppGetsTheInfractionHeight(t *testing.T) {
	const n = 4
	apps := make([]*e2eAppProcess, n)
	for i := range apps {
		apps[i] = startE2EApp(t, i, e2eapp.Config{PersistInterval: 1})
	}
	res := Run(Options{Seed: 3, Validators: n, Powers: []int64{10, 10, 10, 10}, Byzantine: 1,
		Behaviours: []string{"equivocate"}, Duration: 30 * time.Second,
		App: func(i int) (proxy.ClientCreator, func() error, error) {
			return &recordingCreator{ClientCreator: proxy.NewRemoteClientCreator(apps[i].addr, "socket", true),
				log: &apps[i].calls}, nil, nil
		}})
	for _, v := range res.Violations {
		t.Error(v)
	}
	if len(res.Byzantine) != 1 {
		t.Fatalf("byzantine validators %v, want one equivocator", res.Byzantine)
	}
	equivocator, err := strconv.Atoi(strings.SplitN(res.Byzantine[0], ":", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	addr := simValidatorPubKey(equivocator).Address()
	reported, earlier := 0, 0
	for i, a := range apps {
		if i == equivocator {
			continue
		}
		for h, req := range a.calls.requests {
			for _, m := range req.Misbehavior {
				reported++
				if !bytes.Equal(m.Validator.Address, addr) {
					t.Errorf("node %d height %d: misbehavior of %X, not the equivocator's %X", i, h, m.Validator.Address, addr)
				}
				if m.Height > h || m.Height < 1 {
					t.Errorf("node %d: height %d reports an infraction at height %d", i, h, m.Height)
					continue
				}
				if m.Height < h {
					earlier++
				}
				if at, ok := a.calls.requests[m.Height]; ok && !at.Time.Equal(m.Time) {
					t.Errorf("node %d: infraction at height %d dated %v, but that height's time is %v", i, m.Height, m.Time, at.Time)
				}
			}
		}
	}
	if reported == 0 {
		t.Fatal("no misbehavior reached the app")
	}
	if earlier == 0 {
		t.Errorf("all %d misbehaviors are dated at the height reporting them: the infraction height is lost", reported)
	}
	t.Logf("equivocator %d: %d misbehaviors reported to honest apps, %d dated at an earlier height than the one reporting them; heights %d",
		equivocator, reported, earlier, res.Heights)
}
