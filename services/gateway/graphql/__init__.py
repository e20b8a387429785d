"""GraphQL at /graphql: the REST API's domain, same stores and renderers, one round trip per field batch."""
