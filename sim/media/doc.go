// Package media is the installer media of msguard-sim (see package sim):
// WriteMedia writes the Messaging Server 5.2 media that `msguard remediate
// --media DIR` drives, and the package registers the installers behind it
// (msg-setup, ims-dssetup, ws-setup, da-setup, da-uninstall), the
// "cluster" create step and the cluster CLIs of the HA scenarios (hareg;
// hagrp, hares; scstat, scrgadm, pkginfo, pkgadd).
package media

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/msguard/msguard/sim"
)

// MediaVersionFile is DIR/msg52/VERSION: the product the media installs.
const MediaVersionFile = "VERSION"

// mediaScripts maps each media entry point to its installer kind.
var mediaScripts = map[string]string{
	"msg52/setup":          "msg-setup",
	"msg52/ims_dssetup.pl": "ims-dssetup",
	"ws60sp2/setup":        "ws-setup",
	"da12/setup":           "da-setup",
	"da12/uninstall":       "da-uninstall",
}

// scimsPkginfo is DIR/msg52/SUNWscims/pkginfo, the Sun Cluster agent package.
const scimsPkginfo = `PKG=SUNWscims
NAME=Sun Cluster iPlanet Messaging Server data service
ARCH=sparc
VERSION=5.2,REV=2002.02.21
CATEGORY=application
VENDOR=Sun Microsystems, Inc.
DESC=Sun Cluster 3.0 agent (SUNW.ims) for iPlanet Messaging Server
BASEDIR=/opt
CLASSES=none
`

// WriteMedia writes installer media to dir: bin/msguard-sim (a copy of
// binary), the sh entry points msg52/setup, msg52/ims_dssetup.pl,
// ws60sp2/setup, da12/setup and da12/uninstall (each runs `msguard-sim
// installer --media DIR KIND "$@"`), msg52/SUNWscims/ (a Solaris package
// directory) and msg52/VERSION naming the release.
func WriteMedia(dir, binary string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("media dir %s: %w", dir, err)
	}
	bin := filepath.Join(abs, "bin", "msguard-sim")
	if err := copyFile(binary, bin, 0o755); err != nil {
		return fmt.Errorf("copy %s into media: %w", binary, err)
	}
	for rel, kind := range mediaScripts {
		body := fmt.Sprintf("#!/bin/sh\nexec %s installer --media %s %s \"$@\"\n", shQuote(bin), shQuote(abs), kind)
		if err := writeMediaFile(abs, rel, body, 0o755); err != nil {
			return err
		}
	}
	files := map[string]string{
		"msg52/" + MediaVersionFile:   sim.MsgBanner("5.2") + "\n" + sim.DSVendorLines["4.16"] + "\n" + sim.AdminServerBanner + "\n",
		"msg52/SUNWscims/pkginfo":     scimsPkginfo,
		"msg52/SUNWscims/pkgmap":      ": 1 16\n1 d none SUNWscims 0755 root bin\n1 f none SUNWscims/bin/ims_svc_start 0555 root bin 2048 0 0\n1 i pkginfo 312 0 0\n",
		"ws60sp2/" + MediaVersionFile: sim.WebServerBanners["6.0SP2"] + "\n",
		"da12/" + MediaVersionFile:    "iPlanet Delegated Administrator for Messaging and Collaboration 1.2\n",
	}
	for rel, body := range files {
		if err := writeMediaFile(abs, rel, body, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeMediaFile(dir, rel, body string, mode os.FileMode) error {
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("write media %s: %w", rel, err)
	}
	if err := sim.WriteFileAtomic(path, []byte(body), mode); err != nil {
		return fmt.Errorf("write media %s: %w", rel, err)
	}
	return nil
}

// shQuote quotes s for sh.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
