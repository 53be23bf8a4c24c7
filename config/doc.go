// Package config owns Parklot's declarative configuration: the YAML or JSON
// file that declares Temporal access, the HTTP listener, resource pools with
// their stores and executors, and parking lots with their layout and pricing.
//
// It is the only package that reads environment variables. Everything the
// runtime needs from the environment is resolved here, once, at start-up, and
// passed down as typed values; other packages take a *Config and never call
// os.Getenv. It imports only domain packages of the project (to build a lot's spec) and nothing of Temporal.
//
// # Precedence
//
// Built-in defaults, then the file, then the environment:
//
//	TEMPORAL_ADDRESS          temporal.address          (default 127.0.0.1:7233)
//	TEMPORAL_NAMESPACE        temporal.namespace        (default default)
//	PARKLOT_TASK_QUEUE        temporal.task_queue       (default parklot)
//	TEMPORAL_API_KEY          temporal.api_key
//	TEMPORAL_TLS_CERT         temporal.tls.cert_file
//	TEMPORAL_TLS_KEY          temporal.tls.key_file
//	TEMPORAL_TLS_CA           temporal.tls.ca_file
//	TEMPORAL_TLS_SERVER_NAME  temporal.tls.server_name
//	PARKLOT_HTTP_ADDRESS      http.address              (default 127.0.0.1:8080)
//
// A variable that is set but empty counts as unset. A store's dsn_env names a
// further variable whose value becomes the store's DSN, which keeps database
// passwords out of the file. Likewise a pool's webhook.secret_env names the
// variable holding the webhook's signing secret, which becomes
// Webhook.Secret; the file itself cannot set the secret.
//
// A pool takes default_timeout (60s), max_queue_depth (100),
// lease_check_interval (30s) and its mailbox and audit stores from the
// defaults section when it does not set them; the built-in stores are SQLite
// files under ./.parklot. A pool defaults to priority_policy fair, state
// active and one shard; max_units has no default. A pool's optional webhook
// (url, secret_env, timeout) pushes every message of its tasks to a gateway,
// signed as package notifier describes; url and secret_env are required in
// it and timeout defaults to 10s. A lot defaults to strategy
// first_available and contiguous_spots 2; timezone and currency are required.
//
// # Values
//
// Durations are Go duration strings ("90s", "1h30m") and reach the runtime as
// time.Duration. Money is an integer count of the currency's minor unit.
// Multipliers and the surge threshold are decimals in the file with at most
// three decimals and reach the runtime as PerMille (1.5 becomes 1500), so
// pricing never needs floating point. Peak windows are "HH:MM" local times.
//
// Relative store paths are resolved against the working directory of the
// process when the file is loaded and kept as absolute paths from then on;
// relative TLS file names are likewise read from the working directory.
//
// # Errors
//
// Decoding is strict: an unknown key is an error that names its path and line
// and suggests the key that was probably meant. Load, Parse, Default and
// Validate collect every problem before returning, as Problems, one
// "path: message" per line, each saying how to fix it.
package config
