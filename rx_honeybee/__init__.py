"""rx_honeybee: reactive Nostr connections over aiohttp."""
