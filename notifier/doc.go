// Package notifier owns the optional per-pool webhook: one signed HTTP POST
// of a mailbox message to a URL the operator configured, so that a gateway
// can push task outcomes to its clients instead of polling the mailbox.
//
// It imports the standard library and domain/mailbox only: no Temporal, no
// config, and it never reads the environment. The caller builds a Webhook
// from the pool's configuration (config.Webhook, whose secret config has
// already read from the variable named by secret_env).
//
// # Retries
//
// Notify makes exactly one attempt. Retrying with backoff is the job of the
// caller, a Temporal activity whose retry policy re-runs it; an error for
// which IsPermanent is true must become a non-retryable application error
// there, since a retry would get the same answer. Every attempt of one
// message carries the same X-Parklot-Message-Id and the same body, so a
// receiver that saw a message already (its 2xx was lost, or it timed out
// after processing) can recognise the retry and answer 2xx again.
//
// # The request
//
//	POST <url>
//	Content-Type: application/json
//	X-Parklot-Message-Id: <messageId, the same on every retry>
//	X-Parklot-Timestamp: <time of this attempt, RFC 3339 in UTC, e.g. 2025-06-01T12:00:00Z>
//	X-Parklot-Signature: sha256=<lower-case hex HMAC-SHA256>
//
//	{"messageId":"…","key":{"tenant":"…"},"taskId":"…","pool":"…","status":"completed","reason":"","payload":{…},"createdAt":"…"}
//
// The body is the message as JSON (mailbox.Message's encoding), at most
// about 1.2 MiB. Any 2xx answer means delivered. Redirects are not followed
// by the default client: a 3xx is reported as a permanent error, since
// following it would turn the POST into a GET or send the message where the
// operator did not point it.
//
// # The signature
//
// The signature is HMAC-SHA256, keyed with the shared secret, over the bytes
//
//	timestamp + "." + body
//
// where timestamp is the X-Parklot-Timestamp header exactly as sent and body
// is the raw request body exactly as received (verify before parsing it:
// re-encoding the JSON would change the bytes). The timestamp is signed so
// that a captured request cannot be replayed later: a receiver rejects a
// timestamp too far from its own clock (five minutes is usual). It is the
// time of the attempt, not the message's createdAt (which is in the body),
// so that a retry after a long outage is still fresh. Within the tolerance,
// de-duplicating by X-Parklot-Message-Id makes a replay harmless.
//
// A Go receiver:
//
//	func receive(w http.ResponseWriter, r *http.Request) {
//		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2<<20))
//		if err != nil {
//			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
//			return
//		}
//		ts := r.Header.Get(notifier.HeaderTimestamp)
//		if !notifier.Verify(secret, ts, body, r.Header.Get(notifier.HeaderSignature)) {
//			http.Error(w, "bad signature", http.StatusUnauthorized)
//			return
//		}
//		if at, _ := time.Parse(time.RFC3339, ts); time.Since(at).Abs() > 5*time.Minute {
//			http.Error(w, "stale timestamp", http.StatusUnauthorized)
//			return
//		}
//		if alreadySeen(r.Header.Get(notifier.HeaderMessageID)) {
//			w.WriteHeader(http.StatusOK) // a retry: acknowledge it again
//			return
//		}
//		// decode body as a mailbox.Message, hand it on, answer 2xx quickly
//	}
//
// In any other language: compute HMAC-SHA256 of timestamp, ".", body with
// the secret as the key, hex-encode it, and compare it in constant time
// with the part of X-Parklot-Signature after "sha256=".
//
// # Answers
//
// A 2xx is success. 408 and 429, every 5xx, a timeout and a network error
// are retryable. Every other 4xx and every 3xx is permanent: the receiver
// refused this message (bad signature, wrong URL, gone) and will refuse it
// again. The error quotes up to 64 KiB of the response body.
package notifier
