// Package parquetcheck holds a test, and nothing else, that reads the files
// of sink.Parquet with Apache Arrow's Go implementation (pqarrow), a reader
// independent of the parquet-go library that writes them.
//
// It is a module of its own so that the main module does not depend on
// arrow-go. Run it from the repository's root with
//
//	(cd sink/parquetcheck && go test ./...)
package parquetcheck
