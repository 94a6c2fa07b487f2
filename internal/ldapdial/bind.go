package ldapdial

import (
	"context"

	"github.com/go-ldap/ldap/v3"
)

// Bind is a simple bind of conn, a connection to t, as dn. Like go-ldap,
// it refuses an empty password (an unauthenticated bind that would
// succeed without checking anything). Its error is BindError's.
func Bind(ctx context.Context, conn *ldap.Conn, t Target, dn, password string) error {
	return BindError(ctx, t, dn, conn.Bind(dn, password))
}

// BindError describes err, the failure of a simple bind to t as dn, for a
// client that sends the bind itself: "invalid credentials (wrong password
// or bind DN)" for a refused password, "timed out" when a deadline ended
// it; the *ldap.Error stays in the chain (ldap.IsErrorWithCode). The
// password is in no error. nil stays nil.
func BindError(ctx context.Context, t Target, dn string, err error) error {
	if err == nil {
		return nil
	}
	addr := t.URL
	if a, perr := ParseURL(t.URL); perr == nil {
		addr = a.Address
	}
	op := "bind to " + addr + " as " + dn
	if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
		return &invalidCredentials{op: op, err: err}
	}
	return opError(ctx, op, err)
}

// invalidCredentials is a bind the server refused (result code 49); it
// reads without the server's own wording of it.
type invalidCredentials struct {
	op  string
	err error
}

func (e *invalidCredentials) Error() string {
	return e.op + ": invalid credentials (wrong password or bind DN)"
}

func (e *invalidCredentials) Unwrap() error { return e.err }
