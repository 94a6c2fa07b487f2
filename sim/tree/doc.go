// Package tree is part of msguard-sim (see package sim).
package tree
