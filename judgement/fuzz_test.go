package judgement

import (
	"bytes"
	"testing"
)

// FuzzDecodeReport checks that DecodeReport never panics, and that a
// report it accepts can be written and read back as the same document.
func FuzzDecodeReport(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReport(bytes.NewReader(data))
		if err != nil {
			return
		}
		var first bytes.Buffer
		if err := r.Encode(&first); err != nil {
			t.Fatalf("accepted report cannot be encoded: %v", err)
		}
		again, err := DecodeReport(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("re-encoded report is refused: %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := again.Encode(&second); err != nil {
			t.Fatalf("decoded report cannot be encoded: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("round trip changed the report:\n%s\nbecame\n%s", first.Bytes(), second.Bytes())
		}
	})
}
