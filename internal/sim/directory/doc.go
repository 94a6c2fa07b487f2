// Package directory is part of msguard-sim (see package sim).
package directory
