package serpstat

import "encoding/json"

// Request is the body of every call: {"id","method","params"}. There is no
// "jsonrpc" field.
type Request struct {
	ID     string `json:"id"`
	Method string `json:"method"`
	Params any    `json:"params"`
}

// Response is the body of every answer. The API answers HTTP 200 with
// either Result or Error. ID may come back as a string or a number.
type Response struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *Error          `json:"error,omitempty"`
}
