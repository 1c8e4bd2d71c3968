;; lookup.wat -- a key-value directory served from the plug-in's config.
;;
;; ABI: extism (imports extism:host/env). One export:
;;   lookup   the input is a key; the output is the config value of that key,
;;            or nothing (empty output) when the config has no such key.
;;
;; The table is the plug-in's Extism config, so it lives in the YAML:
;;
;;   owners:
;;     source: ../examples/plugins/lookup.wat
;;     config: {payments: team-payments, auth: team-identity}
;;
;; Other plug-ins reach it through a route (config/logs.yaml: enrich imports
;; extism:host/user.lookup, served by owners.lookup). Nothing is copied into
;; this module's memory: the input block is the key, the config block the answer.
(module
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "config_get" (func $config_get (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))

  (memory (export "memory") 1)

  (func (export "lookup") (result i32)
    (local $value i64)
    (local.set $value (call $config_get (call $input_offset)))
    (if (i64.eqz (local.get $value))
      (then (call $output_set (i64.const 0) (i64.const 0)))
      (else (call $output_set (local.get $value) (call $length (local.get $value)))))
    (i32.const 0))
)
