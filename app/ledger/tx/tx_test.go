package tx

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cometbft/cometbft/crypto/ed25519"
)

func sampleTransfer() Transfer {
	return Transfer{ChainId: "test-chain", To: bytes.Repeat([]byte{7}, AddressSize), Amount: 10, Fee: 1, Nonce: 3, Memo: "hi"}
}

func TestSignDecodeVerify(t *testing.T) {
	key := ed25519.GenPrivKeyFromSecret([]byte("alice"))
	raw, err := Sign(key, sampleTransfer())
	if err != nil {
		t.Fatal(err)
	}
	got, e := Decode(raw)
	if e != nil {
		t.Fatalf("decode: %v", e)
	}
	if !got.VerifySignature() {
		t.Fatal("signature of a freshly signed tx does not verify")
	}
	if got.Sender() != AddressFromPubKey(key.PubKey().Bytes()) {
		t.Fatal("sender is not the signer's address")
	}
	if !bytes.Equal(got.Sender().Bytes(), key.PubKey().Address()) {
		t.Fatal("address derivation differs from CometBFT's")
	}
	got.Transfer.Amount++
	if got.VerifySignature() {
		t.Fatal("signature still verifies after the amount changed")
	}
}

func TestSignBytesAreDomainSeparatedAndUnambiguous(t *testing.T) {
	a := sampleTransfer()
	b := sampleTransfer()
	b.ChainId, b.Memo = "test-chai", "nhi" // same concatenation without length prefixes
	if bytes.Equal(SignBytes(&a), SignBytes(&b)) {
		t.Fatal("different transfers share sign bytes")
	}
	if !bytes.HasPrefix(SignBytes(&a), []byte(signDomain)) {
		t.Fatal("sign bytes lack the domain prefix")
	}
}

func TestDecodeRejects(t *testing.T) {
	key := ed25519.GenPrivKeyFromSecret([]byte("alice"))
	signWith := func(mut func(*Transfer)) []byte {
		tr := sampleTransfer()
		mut(&tr)
		tr.FromPubKey = key.PubKey().Bytes()
		sig, _ := key.Sign(SignBytes(&tr))
		raw, err := (&Tx{Transfer: tr, Signature: sig}).Marshal()
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	good := signWith(func(*Transfer) {})
	cases := []struct {
		name string
		raw  []byte
		code Code
	}{
		{"garbage", []byte{0xff, 0xff, 0xff}, CodeMalformed},
		{"too large", make([]byte, MaxTxBytes+1), CodeTooLarge},
		{"memo too long", signWith(func(t *Transfer) { t.Memo = strings.Repeat("m", MaxMemoBytes+1) }), CodeTooLarge},
		{"short address", signWith(func(t *Transfer) { t.To = t.To[:19] }), CodeMalformed},
		{"no chain id", signWith(func(t *Transfer) { t.ChainId = "" }), CodeMalformed},
		{"zero amount", signWith(func(t *Transfer) { t.Amount = 0 }), CodeInvalidAmount},
		{"overflow", signWith(func(t *Transfer) { t.Amount, t.Fee = 1<<63, 1<<63 }), CodeInvalidAmount},
		// a field repeated: protobuf keeps the last one, but the bytes are not canonical
		{"non-canonical", append(append([]byte{}, good...), good[:2+int(good[1])]...), CodeMalformed},
	}
	for _, c := range cases {
		_, e := Decode(c.raw)
		if e == nil || e.Code != c.code {
			t.Errorf("%s: got %v, want code %d", c.name, e, c.code)
		}
	}
	if _, e := Decode(good); e != nil {
		t.Fatalf("good tx rejected: %v", e)
	}
}

func TestParseAddress(t *testing.T) {
	a := AddressFromPubKey([]byte("k"))
	for _, s := range []string{a.String(), strings.ToLower(a.String()), "0x" + a.String()} {
		got, err := ParseAddress(s)
		if err != nil || got != a {
			t.Fatalf("ParseAddress(%q) = %v, %v", s, got, err)
		}
	}
	if _, err := ParseAddress("abcd"); err == nil {
		t.Fatal("short address accepted")
	}
}
