# Orchestra's recipes. `just` comes with the test extra (PyPI: rust-just).
python := env_var_or_default("PYTHON", "python")

default: test

# The main job: the demo pipeline over its sample input.
run *ARGS:
    {{python}} -m orchestra run config/demo.yaml {{ARGS}}

# Build the C example plug-ins with zig (PyPI: ziglang).
examples:
    {{python}} examples/build.py

# Build the native host plug-ins (examples/hostplugins/*.c) with cc, for config/hostplugins.yaml.
hostplugins:
    {{python}} examples/build.py --hostplugins

# The whole test suite (what CI runs).
test *ARGS:
    {{python}} -m pytest {{ARGS}}

# The quick path: no Ray, no slow tests (the chaos test among them); CI runs everything.
test-quick *ARGS:
    {{python}} -m pytest -m "not slow and not ray" {{ARGS}}

test-unit *ARGS:
    {{python}} -m pytest tests/unit {{ARGS}}

test-integration *ARGS:
    {{python}} -m pytest tests/integration {{ARGS}}

lint:
    {{python}} -m ruff check orchestra tests examples benchmarks
    {{python}} -m ruff format --check orchestra tests examples benchmarks

fmt:
    {{python}} -m ruff format orchestra tests examples benchmarks
    {{python}} -m ruff check --fix orchestra tests examples benchmarks

# The performance targets in one table: Orchestra against the Extism SDK and in-process
# wasmtime-py (about 4 min; draws docs/img/throughput.png). Needs the bench extra.
bench *ARGS:
    {{python}} benchmarks/bench_perf.py {{ARGS}}

# The CI-sized subset of `bench` (about 1 min): prints the table, asserts no timing.
bench-quick *ARGS:
    {{python}} benchmarks/bench_perf.py --quick {{ARGS}}

# Per-call cost of a trivial call: in-process wasmtime-py against Orchestra (1 and 2 instances).
bench-calls *ARGS:
    {{python}} benchmarks/bench_calls.py {{ARGS}}

# The cost of one host call, wasm -> native (C) and wasm -> Python, in ns (needs cc).
bench-hostcalls *ARGS:
    {{python}} benchmarks/bench_hostcalls.py {{ARGS}}

# Pipeline throughput (a 3-stage pipeline at 1 and 2 instances per stage) and a routed
# call against a direct one, as a table (about 30 s; --quick: about 10 s).
bench-pipeline *ARGS:
    {{python}} benchmarks/bench_pipeline.py {{ARGS}}

# The Ray backend against the local one (on a local Ray cluster unless
# --address): calls/s, pipeline records/s and 1 MiB echo at 1-4 instances with a scaling
# model, then large payloads by reference against inline (about 10 min; --quick: about
# 1 min, 1 and 2 instances). Needs the ray extra.
bench-ray *ARGS:
    {{python}} benchmarks/bench_ray.py {{ARGS}}
