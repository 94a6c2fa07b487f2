package parse

import "testing"

func TestQueueFileName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		want QueueFile
	}{
		{"ZZ01ABCDEF.00", true, QueueFile{Retry: "ZZ", ID: "01ABCDEF", Type: "00"}},
		{"ZY0Fl0Ws0Ux03FW.00", true, QueueFile{Retry: "ZY", ID: "0Fl0Ws0Ux03FW", Type: "00"}},
		{"ZZ01ABCDEF.HELD", true, QueueFile{Retry: "ZZ", ID: "01ABCDEF", Type: "HELD", Held: true}},
		{"ZZa.b.HELD", true, QueueFile{Retry: "ZZ", ID: "a.b", Type: "HELD", Held: true}},
		{"$ZZ01ABCDEF.00", true, QueueFile{Temp: true}},
		{"$", false, QueueFile{}},
		{"ZZ.00", false, QueueFile{}},
		{"ZZ01ABCDEF", false, QueueFile{}},
		{"ZZ01ABCDEF.", false, QueueFile{}},
		{"Z-01.00", false, QueueFile{}},
		{"ZZ01.0-0", false, QueueFile{}},
		{"", false, QueueFile{}},
	}
	for _, tt := range tests {
		got, ok := QueueFileName(tt.name)
		if ok != tt.ok || got != tt.want {
			t.Errorf("QueueFileName(%q) = %+v, %v; want %+v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}
