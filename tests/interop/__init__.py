"""Interop: rxnostr against peers no one here wrote (nostr-sdk, nostr-relay, nostr-tools)."""
