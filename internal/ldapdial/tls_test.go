package ldapdial

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeCA writes a self-signed CA certificate as PEM.
func writeCA(t *testing.T, dir string) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	ca := writeCA(t, dir)
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, ca string
		insecure bool
		wantErr  string // "" = no error
		wantPool bool
	}{
		{name: "system roots"},
		{name: "ca file", ca: ca, wantPool: true},
		{name: "insecure", insecure: true},
		{name: "missing ca", ca: filepath.Join(dir, "none.pem"), wantErr: "ldap ca " + filepath.Join(dir, "none.pem") + ": no such file or directory"},
		{name: "not pem", ca: notPEM, wantErr: "no pem certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := TLSConfig("dir.siroe.com", tt.ca, tt.insecure)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("TLSConfig(%q) error = %v; want %q", tt.ca, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.MinVersion != tls.VersionTLS12 || cfg.ServerName != "dir.siroe.com" || cfg.InsecureSkipVerify != tt.insecure {
				t.Errorf("TLSConfig = min %x, server %q, insecure %v", cfg.MinVersion, cfg.ServerName, cfg.InsecureSkipVerify)
			}
			if (cfg.RootCAs != nil) != tt.wantPool {
				t.Errorf("RootCAs set = %v; want %v", cfg.RootCAs != nil, tt.wantPool)
			}
		})
	}
}
