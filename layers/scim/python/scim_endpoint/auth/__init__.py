"""API keys: token format and privileges (pure), and verification against Secrets Manager (`keyring`)."""
