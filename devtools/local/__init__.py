"""The embedded local server: the real handlers behind an API Gateway-like HTTP front, AWS emulated by moto."""
