package serpstat

// DecodeNewBacklinks exposes the fast getNewBacklinks decoder to the
// external tests of fastdecode_test.go, which need serpstattest (an import
// cycle for an internal test).
var DecodeNewBacklinks = decodeNewBacklinks
