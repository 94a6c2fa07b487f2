package procs

import (
	"bytes"
	"net"
	"sync"
)

// greetingListener hands out connections whose first line written (the
// protocol library's own greeting) is replaced by greeting: the simulated
// daemons greet with the real iPlanet banner, which msguard's version
// checks read, while go-smtp and go-imap serve the rest of the protocol.
type greetingListener struct {
	net.Listener
	greeting string // without CRLF
}

func (l greetingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &greetingConn{Conn: c, greeting: []byte(l.greeting + "\r\n")}, nil
}

// greetingConn drops what is written up to and including the first LF and
// writes greeting in its place.
type greetingConn struct {
	net.Conn
	mu       sync.Mutex
	greeting []byte // nil once sent
}

func (c *greetingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.greeting == nil {
		return c.Conn.Write(p)
	}
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		return len(p), nil // still the library's greeting: dropped
	}
	out := append(c.greeting, p[i+1:]...)
	c.greeting = nil
	if _, err := c.Conn.Write(out); err != nil {
		return 0, err
	}
	return len(p), nil
}
