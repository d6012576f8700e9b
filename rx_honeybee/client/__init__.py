"""The client side: a session per connection, the reactive initiator API, the pool."""
