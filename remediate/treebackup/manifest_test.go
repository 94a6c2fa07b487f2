package treebackup

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

// manifestTestEntries are entries of every shape the manifest holds,
// plain and awkward.
func manifestTestEntries() []ManifestEntry {
	mt := time.Date(2002, 9, 16, 10, 31, 10, 370000123, time.UTC)
	sum := strings.Repeat("0123456789abcdef", 4)
	return []ManifestEntry{
		{Path: ".", Type: EntryDir, Mode: 0o755, MTime: mt},
		{Path: "imta/queue/tcp_local/000/ZZ0123456789.00", Type: EntryFile, Size: 1234, Mode: 0o600, UID: 1234, GID: 1234, MTime: mt, SHA256: sum},
		{Path: "bin/msg/lib/setuidhelper", Type: EntryFile, Size: 0, Mode: uint32(0o4755 | 1<<23), MTime: mt.Add(time.Hour), SHA256: sum},
		{Path: "config/current", Type: EntrySymlink, MTime: mt.Truncate(time.Second), Target: "msg.conf"},
		{Path: "config/h", Type: EntryFile, Size: 5, MTime: mt, HardLink: "config/msg.conf"},
		{Path: "a<b>&c", Type: EntryFile, MTime: mt, SHA256: sum},
		{Path: `quote"back\slash`, Type: EntryFile, MTime: mt, SHA256: sum},
		{Path: "café", Type: EntryDir, MTime: mt},
		{Path: "caf\xe9", Type: EntryFile, MTime: mt, SHA256: sum},
		{Path: "tab\tnewline\n", Type: EntryDir, MTime: mt},
		{Path: "l", Type: EntrySymlink, MTime: mt, Target: "\xff"},
		{Path: "neg", Type: EntryFile, Size: -1, UID: -2, GID: -3, MTime: time.Unix(0, 1).UTC(), SHA256: sum},
		{Path: "old", Type: EntryDir, MTime: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Path: "local", Type: EntryDir, MTime: time.Date(2020, 1, 1, 0, 0, 0, 5, time.FixedZone("x", 3600))},
		{Path: "far", Type: EntryDir, MTime: time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC)},
	}
}

// TestManifestFastEncodingIsJSON checks that the direct encoder writes
// exactly what json.Marshal writes and the direct decoder reads exactly
// what json.Unmarshal reads.
func TestManifestFastEncodingIsJSON(t *testing.T) {
	for _, e := range manifestTestEntries() {
		want, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		got, err := appendManifestEntry(nil, &e)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendManifestEntry(%q) = %s, %v; want %s", e.Path, got, err, want)
		}
		var a, b ManifestEntry
		errA := parseManifestEntry(got, &a)
		errB := json.Unmarshal(got, &b)
		if errA != nil || errB != nil || !reflect.DeepEqual(a, b) {
			t.Errorf("parseManifestEntry(%s) = %+v, %v; json.Unmarshal = %+v, %v", got, a, errA, b, errB)
		}
	}
}

// TestManifestFastDecodingAgreesOnDamage mutates entry lines (bytes
// changed, cut, doubled) and checks the direct decoder against
// json.Unmarshal on each: the same entry or an error from both.
func TestManifestFastDecodingAgreesOnDamage(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []byte(`{}[]":,-0123456789eE.+ \tabcxyz/<>&` + "\x00\x7f\xc3\xa9\xff")
	var lines [][]byte
	for _, e := range manifestTestEntries() {
		b, err := appendManifestEntry(nil, &e)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b)
	}
	lines = append(lines,
		[]byte(`{"path":"a","type":"file","size":01,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z","sha256":"x"}`),
		[]byte(`{"path":"a","type":"file","size":1,"mode":-1,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z","sha256":"x"}`),
		[]byte(`{"path":"a","type":"file","size":1e3,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z","sha256":"x"}`),
		[]byte(`{"path":"a","type":"file","size":1,"mode":4294967296,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z"}`),
		[]byte(`{"path":"a","type":"dir","size":0,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z","sha256":""}`),
		[]byte(`{"path":"a","type":"dir","size":0,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10+01:00"}`),
		[]byte(`{"path":"a","type":"dir","size":0,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16 10:31:10Z"}`),
		[]byte(`{"path":"a","type":"dir","size":-0,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z"} `),
		[]byte(`{"path":"a","type":"dir","size":0,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z","path":"b"}`),
		[]byte(`{"path":"","type":"dir","size":0,"mode":0,"uid":0,"gid":0,"mtime":"2002-09-16T10:31:10Z"}`),
	)
	check := func(line []byte) {
		var a, b ManifestEntry
		errA := parseManifestEntry(line, &a)
		errB := json.Unmarshal(line, &b)
		if (errA == nil) != (errB == nil) || errA == nil && !reflect.DeepEqual(a, b) {
			t.Fatalf("line %q: parseManifestEntry = %+v, %v; json.Unmarshal = %+v, %v", line, a, errA, b, errB)
		}
	}
	for _, l := range lines {
		check(l)
		for range 3000 {
			m := append([]byte(nil), l...)
			switch r.IntN(4) {
			case 0:
				m[r.IntN(len(m))] = alphabet[r.IntN(len(alphabet))]
			case 1:
				m = m[:r.IntN(len(m))]
			case 2:
				i := r.IntN(len(m))
				m = append(m[:i], append([]byte{alphabet[r.IntN(len(alphabet))]}, m[i:]...)...)
			case 3:
				i, j := r.IntN(len(m)), r.IntN(len(m))
				m[i], m[j] = m[j], m[i]
			}
			check(m)
		}
	}
}
