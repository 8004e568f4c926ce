package serpstat

// DecodeNewBacklinks exposes the fast getNewBacklinks decoder to the
// external tests of fastdecode_test.go, which need serpstattest (an import
// cycle for an internal test).
var DecodeNewBacklinks = decodeNewBacklinks

// DecodeGeneric exposes the encoding/json decoder Client.call falls back
// to: the reference the fast decoder is checked against.
var DecodeGeneric = decodeGeneric
