package procs

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/msguard/msguard/sim/tree"
)

func TestDotStuffAndTop(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"a\r\nb\r\n", "a\r\nb\r\n"},
		{".hidden\r\n..two\r\nend", "..hidden\r\n...two\r\nend\r\n"},
		{"", ""},
	} {
		if got := string(dotStuff([]byte(tc.in))); got != tc.want {
			t.Errorf("dotStuff(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	msg := []byte("Subject: s\r\nFrom: f\r\n\r\nl1\r\nl2\r\nl3\r\n")
	for _, tc := range []struct {
		k    int
		want string
	}{
		{0, "Subject: s\r\nFrom: f\r\n\r\n"},
		{2, "Subject: s\r\nFrom: f\r\n\r\nl1\r\nl2\r\n"},
		{9, string(msg)},
	} {
		if got := string(top(msg, tc.k)); got != tc.want {
			t.Errorf("top(%d) = %q, want %q", tc.k, got, tc.want)
		}
	}
}

// TestPOPSession runs RFC 1939 dialogues against popd's server over a
// store mailbox, with a login function in place of the directory.
func TestPOPSession(t *testing.T) {
	part := t.TempDir()
	mb := tree.OpenMailbox(part, "user0001")
	for _, m := range []string{"Subject: one\n\nfirst\n", "Subject: two\n\n.dot line\n"} {
		if _, err := mb.Append([]byte(m), nil); err != nil {
			t.Fatal(err)
		}
	}
	s := &popServer{greeting: "+OK test POP3", partition: part, login: func(user, pw string) (string, error) {
		if user == "user0001" && pw == "secret" {
			return user, nil
		}
		return "", errors.New("Authentication failed")
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	type step struct{ send, want string } // want: prefix of the reply; multi-line replies joined by "|"
	for _, tc := range []struct {
		name      string
		steps     []step
		remaining int // messages left in the store afterwards
	}{
		{"bad password", []step{{"USER user0001", "+OK"}, {"PASS nope", "-ERR [AUTH] Authentication failed"}, {"STAT", "-ERR Unknown command in the AUTHORIZATION state"}, {"QUIT", "+OK Goodbye"}}, 2},
		{"read without deleting", []step{
			{"USER user0001", "+OK"}, {"PASS secret", "+OK Maildrop ready, 2 messages"},
			{"STAT", "+OK 2 50"}, {"LIST", "+OK|1 23|2 27|."}, {"UIDL 2", "+OK 2 2"},
			{"RETR 2", "+OK 27 octets|Subject: two||..dot line|."}, {"TOP 1 0", "+OK 16 octets|Subject: one||."},
			{"RETR 3", "-ERR No such message"}, {"DELE 1", "+OK"}, {"RSET", "+OK"}, {"QUIT", "+OK Goodbye"},
		}, 2},
		{"delete one", []step{
			{"USER user0001", "+OK"}, {"PASS secret", "+OK"}, {"DELE 1", "+OK Message 1 deleted"},
			{"RETR 1", "-ERR Message 1 already deleted"}, {"STAT", "+OK 1 27"}, {"UIDL", "+OK|2 2|."},
			{"QUIT", "+OK Goodbye, 1 messages deleted"},
		}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			r := bufio.NewReader(c)
			readReply := func(multi bool) string {
				var lines []string
				for {
					l, err := r.ReadString('\n')
					if err != nil {
						t.Fatalf("read: %v (so far %q)", err, lines)
					}
					lines = append(lines, strings.TrimRight(l, "\r\n"))
					if !multi || !strings.HasPrefix(lines[0], "+OK") || lines[len(lines)-1] == "." {
						return strings.Join(lines, "|")
					}
				}
			}
			if g := readReply(false); g != "+OK test POP3" {
				t.Fatalf("greeting %q", g)
			}
			for _, st := range tc.steps {
				if _, err := c.Write([]byte(st.send + "\r\n")); err != nil {
					t.Fatal(err)
				}
				verb, arg, _ := strings.Cut(st.send, " ")
				multi := verb == "RETR" || verb == "TOP" || ((verb == "LIST" || verb == "UIDL") && arg == "")
				if got := readReply(multi); !strings.HasPrefix(got, st.want) {
					t.Errorf("%s: %q, want %q", st.send, got, st.want)
				}
			}
			ix, err := mb.Read()
			if err != nil || len(ix.Messages) != tc.remaining {
				t.Errorf("store holds %d messages (%v), want %d", len(ix.Messages), err, tc.remaining)
			}
		})
	}
}
