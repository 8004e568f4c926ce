package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// The meters themselves are tested in package meter.

func TestFmtRate(t *testing.T) {
	assert.Equal(t, "250", fmtRate(249.7))
	assert.Equal(t, "9.8", fmtRate(9.81))
	assert.Equal(t, "1.9", fmtRate(1.9))
	assert.Equal(t, "1", fmtRate(0.97))
}
