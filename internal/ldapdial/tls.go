package ldapdial

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
)

// MinVersion is the oldest TLS version msguard speaks to a directory.
const MinVersion = tls.VersionTLS12

// TLSConfig returns the TLS settings for ldaps:// and StartTLS to host:
// TLS 1.2 at least, the server name checked, the operator's CA file (or
// the system roots), verification skipped only on the operator's explicit
// --insecure-skip-verify. caFile is a PEM file of the CAs to trust ("" =
// the system roots).
func TLSConfig(host, caFile string, insecureSkipVerify bool) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: host, MinVersion: MinVersion, InsecureSkipVerify: insecureSkipVerify} //nolint:gosec // operator's explicit choice
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("ldap ca %s: %w", caFile, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("ldap ca %s: no pem certificate", caFile)
	}
	cfg.RootCAs = pool
	return cfg, nil
}
