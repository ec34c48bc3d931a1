"""The embedded local server: the real handlers behind an API Gateway-like HTTP front, AWS emulated by moto.

Development only: it is left out of the Lambda layer (layers/scim/Makefile) and imports moto.
"""
