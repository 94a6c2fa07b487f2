package facts

import (
	"bytes"
	"testing"
)

// The seed corpora are in testdata/fuzz/<FuzzName>; run one target with
// `go test -run '^$' -fuzz FuzzDecodeSnapshot ./collectors/facts`.

// FuzzDecodeSnapshot checks that DecodeSnapshot never panics, and that a
// snapshot it accepts can be written and read back as the same document.
func FuzzDecodeSnapshot(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSnapshot(bytes.NewReader(data))
		if err != nil {
			return
		}
		var first bytes.Buffer
		if err := s.Encode(&first); err != nil {
			t.Fatalf("accepted snapshot cannot be encoded: %v", err)
		}
		again, err := DecodeSnapshot(bytes.NewReader(first.Bytes()))
		if err != nil {
			t.Fatalf("re-encoded snapshot is refused: %v\n%s", err, first.Bytes())
		}
		var second bytes.Buffer
		if err := again.Encode(&second); err != nil {
			t.Fatalf("decoded snapshot cannot be encoded: %v", err)
		}
		if !bytes.Equal(first.Bytes(), second.Bytes()) {
			t.Fatalf("round trip changed the snapshot:\n%s\nbecame\n%s", first.Bytes(), second.Bytes())
		}
	})
}
