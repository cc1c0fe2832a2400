package tx

import "testing"

// FuzzDecodeTx feeds arbitrary bytes to the only decoder of untrusted
// transactions: it must return a Tx or an error with a code, never panic, and
// whatever it accepts must re-encode to exactly the input.
func FuzzDecodeTx(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0x0a, 0x00})
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, e := Decode(raw)
		if (got == nil) == (e == nil) {
			t.Fatalf("Decode returned tx=%v err=%v", got, e)
		}
		if e != nil {
			if e.Code == CodeOK {
				t.Fatal("error with code OK")
			}
			return
		}
		again, err := got.Marshal()
		if err != nil || string(again) != string(raw) {
			t.Fatal("accepted bytes are not canonical")
		}
		got.VerifySignature()
	})
}
