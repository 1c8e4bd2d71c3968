# Orchestra's recipes. `just` comes with the test extra (PyPI: rust-just).
python := env_var_or_default("PYTHON", "python")

default: test

# The main job: the demo pipeline over its sample input.
run *ARGS:
    {{python}} -m orchestra run config/demo.yaml {{ARGS}}

# Build the C example plug-ins with zig (PyPI: ziglang).
examples:
    {{python}} examples/build.py

# The whole test suite (what CI runs).
test *ARGS:
    {{python}} -m pytest {{ARGS}}

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

# Throughput/latency table: in-process wasmtime-py against Orchestra (1 and 2 instances).
bench *ARGS:
    {{python}} benchmarks/bench_calls.py {{ARGS}}
